// Batched ChaCha20-Poly1305 packet protection (docs/PROTOCOL.md §2.2), registered as
// `native.crypto`. JS owns every byte: the packets live in one Uint8Array and the batch
// layout is a set of typed arrays (packages/core ProtectBatch); one call seals or opens
// the whole batch in place. A packet is decrypted in place; if its tag does not verify, the
// same keystream is applied again, so a forged packet's bytes end exactly as received (the
// caller may try another key on them).
//
// Nonce = 4 zero bytes ‖ u64 LE packet number; AAD = the header bytes; 16-byte tag.
// A key runs on one of two engines: "direct" (aead_direct.h: OpenSSL's ChaCha20 and Poly1305
// primitives, ~25% cheaper per packet; the default when they self-test) or "evp" (one
// EVP_CIPHER_CTX per direction keyed once; each packet only resets the IV).
#include <napi.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/registry.h"
#include "crypto/aead_direct.h"

namespace {

constexpr size_t kKeyLen = 32;
constexpr size_t kNonceLen = 12;
constexpr size_t kTagLen = 16;
// JS packet numbers are doubles: the largest exact integer (Number.MAX_SAFE_INTEGER).
constexpr double kMaxPnDouble = 9007199254740991.0;
// EVP update lengths are ints: feed longer ranges in pieces.
constexpr size_t kUpdateMax = size_t{1} << 30;

// Distinguishes our key handles from every other external/object (napi_type_tag_object).
constexpr napi_type_tag kPacketKeyTag = {0x7772616974685f63ULL, 0x6861636861706b31ULL};

struct PacketKey {
  EVP_CIPHER_CTX* seal = nullptr;
  EVP_CIPHER_CTX* open = nullptr;
  bool direct = false;
  bool alive = false;
  uint32_t key[8] = {0};  // direct engine only
  alignas(64) uint8_t poly[wraith::aead::kPolyCtxMax];

  bool live() const { return alive; }

  void Release() {
    // EVP_CIPHER_CTX_free cleanses the key schedule it holds; the direct key is wiped here.
    if (seal != nullptr) EVP_CIPHER_CTX_free(seal);
    if (open != nullptr) EVP_CIPHER_CTX_free(open);
    seal = nullptr;
    open = nullptr;
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(poly, sizeof poly);
    alive = false;
  }
};

void FinalizeKey(Napi::Env, PacketKey* k) {
  k->Release();
  delete k;
}

// ---- errors: code + message (+ index/end/bufLen for layout errors) ----

Napi::Value Throw(Napi::Env env, const char* code, const std::string& msg, bool typeError = false) {
  Napi::Error e = typeError ? Napi::TypeError::New(env, msg) : Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowAt(Napi::Env env, const char* code, const std::string& msg, uint32_t index, double end,
                    size_t bufLen) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.Set("index", Napi::Number::New(env, index));
  if (!std::isnan(end)) e.Set("end", Napi::Number::New(env, end));
  e.Set("bufLen", Napi::Number::New(env, static_cast<double>(bufLen)));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

std::string Num(double v) {
  // Shortest faithful form for messages (integers print without a fraction).
  char b[40];
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e300) {
    snprintf(b, sizeof b, "%.0f", v);
  } else {
    snprintf(b, sizeof b, "%.17g", v);
  }
  return b;
}

// ---- argument views ----

struct View {
  uint8_t* data = nullptr;
  size_t length = 0;  // elements
  size_t elemSize = 1;
  napi_typedarray_type type = napi_uint8_array;
};

// Reads a typed array of one of the accepted types; throws E_INTERNAL (TypeError) otherwise.
// `alt` is a second accepted type, or -1 for none.
bool GetView(Napi::Env env, napi_value v, const char* what, napi_typedarray_type want, View* out, int alt = -1) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) {
    Throw(env, "E_INTERNAL", std::string(what) + " must be a typed array", true);
    return false;
  }
  napi_typedarray_type t;
  size_t len = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &t, &len, &data, nullptr, nullptr) != napi_ok) {
    Throw(env, "E_INTERNAL", std::string(what) + ": napi_get_typedarray_info failed", true);
    return false;
  }
  if (t != want && static_cast<int>(t) != alt) {
    Throw(env, "E_INTERNAL", std::string(what) + " has the wrong element type", true);
    return false;
  }
  out->data = static_cast<uint8_t*>(data);
  out->length = len;
  out->type = t;
  switch (t) {
    case napi_uint32_array: out->elemSize = 4; break;
    case napi_float64_array:
    case napi_biguint64_array: out->elemSize = 8; break;
    default: out->elemSize = 1; break;
  }
  return true;
}

PacketKey* GetKey(Napi::Env env, napi_value v) {
  Napi::Value val(env, v);
  if (!val.IsExternal()) {
    Throw(env, "E_INTERNAL", "key must be a handle from createPacketKey()", true);
    return nullptr;
  }
  Napi::External<PacketKey> ext = val.As<Napi::External<PacketKey>>();
  if (!ext.CheckTypeTag(&kPacketKeyTag)) {
    Throw(env, "E_INTERNAL", "key is an external of another kind, not a packet key", true);
    return nullptr;
  }
  PacketKey* k = ext.Data();
  if (k == nullptr || !k->live()) {
    Throw(env, "E_NOISE_STATE", "PacketKey used after destroy()");
    return nullptr;
  }
  return k;
}

bool GetCount(Napi::Env env, napi_value v, uint32_t* out) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    Throw(env, "E_INTERNAL", "count must be a number", true);
    return false;
  }
  if (!(d >= 0 && d <= 4294967295.0 && d == std::floor(d))) {
    Throw(env, "E_INTERNAL", "ProtectBatch count " + Num(d) + " is not an integer in 0..2^32-1");
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

// The batch: buf, count, offsets, headerLens, payloadLens, pns (Float64Array or
// BigUint64Array) and, for open, status. Checks types, lengths and that no array overlaps
// another one (the packets are written in place; writing into the layout is a caller bug).
struct Batch {
  View buf, offsets, headerLens, payloadLens, pns, status;
  uint32_t count = 0;
  bool hasStatus = false;

  const uint32_t* off() const { return reinterpret_cast<const uint32_t*>(offsets.data); }
  const uint32_t* hl() const { return reinterpret_cast<const uint32_t*>(headerLens.data); }
  uint32_t* pl() const { return reinterpret_cast<uint32_t*>(payloadLens.data); }

  // Packet i's number: false when a double is not an integer in [0, 2^53-1].
  bool Pn(uint32_t i, uint64_t* pn, double* raw) const {
    if (pns.type == napi_biguint64_array) {
      uint64_t v;
      std::memcpy(&v, pns.data + size_t{i} * 8, 8);
      *pn = v;
      *raw = static_cast<double>(v);
      return true;
    }
    double d;
    std::memcpy(&d, pns.data + size_t{i} * 8, 8);
    *raw = d;
    if (!(d >= 0 && d <= kMaxPnDouble && d == std::floor(d))) return false;
    *pn = static_cast<uint64_t>(d);
    return true;
  }
};

bool Overlaps(const View& a, size_t aBytes, const View& b, size_t bBytes) {
  if (aBytes == 0 || bBytes == 0) return false;
  uintptr_t a0 = reinterpret_cast<uintptr_t>(a.data), b0 = reinterpret_cast<uintptr_t>(b.data);
  return a0 < b0 + bBytes && b0 < a0 + aBytes;
}

bool ReadBatch(Napi::Env env, const Napi::CallbackInfo& info, bool withStatus, Batch* b) {
  size_t need = withStatus ? 8 : 7;
  if (info.Length() < need) {
    Throw(env, "E_INTERNAL", std::string(withStatus ? "openBatch" : "sealBatch") + " takes " +
                                 std::to_string(need) + " arguments", true);
    return false;
  }
  if (!GetView(env, info[1], "buf", napi_uint8_array, &b->buf)) return false;
  if (!GetCount(env, info[2], &b->count)) return false;
  if (!GetView(env, info[3], "offsets", napi_uint32_array, &b->offsets)) return false;
  if (!GetView(env, info[4], "headerLens", napi_uint32_array, &b->headerLens)) return false;
  if (!GetView(env, info[5], "payloadLens", napi_uint32_array, &b->payloadLens)) return false;
  if (!GetView(env, info[6], "pns", napi_float64_array, &b->pns, static_cast<int>(napi_biguint64_array))) return false;
  b->hasStatus = withStatus;
  if (withStatus && !GetView(env, info[7], "status", napi_uint8_array, &b->status)) return false;

  const View* meta[] = {&b->offsets, &b->headerLens, &b->payloadLens, &b->pns, &b->status};
  const char* names[] = {"offsets", "headerLens", "payloadLens", "pns", "status"};
  size_t nMeta = withStatus ? 5 : 4;
  for (size_t m = 0; m < nMeta; m++) {
    if (meta[m]->length < b->count) {
      Throw(env, "E_INTERNAL", "ProtectBatch count " + std::to_string(b->count) + " exceeds " + names[m] +
                                   ".length " + std::to_string(meta[m]->length));
      return false;
    }
  }
  // Used bytes of each array; buf counts whole (every packet may lie anywhere in it).
  size_t bytes[6];
  const View* all[6] = {&b->buf, meta[0], meta[1], meta[2], meta[3], meta[4]};
  const char* allNames[6] = {"buf", names[0], names[1], names[2], names[3], names[4]};
  size_t nAll = nMeta + 1;
  bytes[0] = b->buf.length;
  for (size_t m = 1; m < nAll; m++) bytes[m] = size_t{b->count} * all[m]->elemSize;
  for (size_t x = 0; x < nAll; x++) {
    for (size_t y = x + 1; y < nAll; y++) {
      if (Overlaps(*all[x], bytes[x], *all[y], bytes[y])) {
        Throw(env, "E_INTERNAL", std::string(allNames[x]) + " and " + allNames[y] +
                                     " share memory; the batch arrays must be separate");
        return false;
      }
    }
  }
  return true;
}

// Seal's optional tails (ProtectBatch.tailLens & co.): the last tailLens[i] payload bytes of
// packet i come from srcs[tailIdx[i]] at tailOffs[i]. Every source must lie outside buf.
constexpr uint32_t kMaxTailSources = 255;
struct Tails {
  bool any = false;
  View lens, offs, idx;
  View srcs[kMaxTailSources];
  uint32_t nsrc = 0;
  const uint32_t* tl() const { return reinterpret_cast<const uint32_t*>(lens.data); }
  const uint32_t* to() const { return reinterpret_cast<const uint32_t*>(offs.data); }
};

// Arguments 7..11 of sealBatch: tailLens, tailOffs, tailIdx, tailSrcs (array), tailSrcCount.
bool ReadTails(Napi::Env env, const Napi::CallbackInfo& info, const Batch& b, Tails* t) {
  if (info.Length() < 12 || info[11].IsUndefined()) return true;
  uint32_t n = 0;
  if (!GetCount(env, info[11], &n)) return false;
  if (n == 0) return true;
  if (n > kMaxTailSources || !info[10].IsArray()) {
    Throw(env, "E_INTERNAL", "tailSrcs must be an array of at most 255 sources", true);
    return false;
  }
  if (!GetView(env, info[7], "tailLens", napi_uint32_array, &t->lens) ||
      !GetView(env, info[8], "tailOffs", napi_uint32_array, &t->offs) ||
      !GetView(env, info[9], "tailIdx", napi_uint8_array, &t->idx))
    return false;
  if (t->lens.length < b.count || t->offs.length < b.count || t->idx.length < b.count) {
    Throw(env, "E_INTERNAL", "ProtectBatch count " + std::to_string(b.count) + " exceeds a tail array's length");
    return false;
  }
  Napi::Array arr = info[10].As<Napi::Array>();
  for (uint32_t j = 0; j < n; j++) {
    Napi::Value v = arr.Get(j);
    if (!GetView(env, v, "tail source", napi_uint8_array, &t->srcs[j])) return false;
    if (Overlaps(t->srcs[j], t->srcs[j].length, b.buf, b.buf.length)) {
      Throw(env, "E_INTERNAL", "a tail source shares memory with buf");
      return false;
    }
  }
  t->nsrc = n;
  t->any = true;
  return true;
}

inline void WriteNonce(uint8_t nonce[kNonceLen], uint64_t pn) {
  nonce[0] = nonce[1] = nonce[2] = nonce[3] = 0;
  for (int i = 0; i < 8; i++) nonce[4 + i] = static_cast<uint8_t>(pn >> (8 * i));
}

// AAD (out == nullptr) or in-place/out-of-place data through EVP_CipherUpdate, in int-sized pieces.
bool Update(EVP_CIPHER_CTX* ctx, uint8_t* out, const uint8_t* in, size_t n) {
  while (n > 0) {
    size_t piece = n < kUpdateMax ? n : kUpdateMax;
    int outl = 0;
    if (EVP_CipherUpdate(ctx, out, &outl, in, static_cast<int>(piece)) != 1) return false;
    if (out != nullptr && static_cast<size_t>(outl) != piece) return false;
    in += piece;
    if (out != nullptr) out += piece;
    n -= piece;
  }
  return true;
}

// The tag through the provider parameters directly: EVP_CIPHER_CTX_ctrl would build the same
// OSSL_PARAM array after a table lookup, on every packet.
inline bool GetTag(EVP_CIPHER_CTX* ctx, uint8_t* tag) {
  OSSL_PARAM params[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kTagLen),
                          OSSL_PARAM_construct_end()};
  return EVP_CIPHER_CTX_get_params(ctx, params) == 1;
}

inline bool SetTag(EVP_CIPHER_CTX* ctx, uint8_t* tag) {
  OSSL_PARAM params[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kTagLen),
                          OSSL_PARAM_construct_end()};
  return EVP_CIPHER_CTX_set_params(ctx, params) == 1;
}

// ---- exports ----

// createPacketKey(key32: Uint8Array, engine?: 'direct' | 'evp') -> handle. Without an engine
// the key runs direct when the primitives passed their self-test, else on EVP. The caller's key
// bytes are copied to the stack only while the key is set up, then wiped.
Napi::Value CreatePacketKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool isTyped = false;
  napi_typedarray_type t = napi_int8_array;
  size_t len = 0;
  void* data = nullptr;
  if (info.Length() < 1 || napi_is_typedarray(env, info[0], &isTyped) != napi_ok || !isTyped ||
      napi_get_typedarray_info(env, info[0], &t, &len, &data, nullptr, nullptr) != napi_ok || t != napi_uint8_array) {
    return Throw(env, "E_CRYPTO_KEY", "ChaCha20-Poly1305 key must be a Uint8Array", true);
  }
  if (len != kKeyLen) {
    return Throw(env, "E_CRYPTO_KEY", "ChaCha20-Poly1305 key must be 32 bytes, got " + std::to_string(len));
  }
  const std::string& directReason = wraith::aead::DirectUnavailableReason();
  bool direct = directReason.empty();
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    const std::string engine = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    if (engine == "evp") {
      direct = false;
    } else if (engine == "direct") {
      if (!direct) return Throw(env, "E_CRYPTO_BACKEND", "the direct ChaCha20-Poly1305 engine is unavailable: " + directReason);
    } else {
      return Throw(env, "E_INTERNAL", "engine must be 'direct' or 'evp'", true);
    }
  }
  uint8_t key[kKeyLen];
  std::memcpy(key, data, kKeyLen);
  PacketKey* k = new PacketKey();
  bool ok;
  if (direct) {
    std::memcpy(k->key, key, kKeyLen);  // little-endian words, as ChaCha20_ctr32 takes them
    ok = true;
  } else {
    uint8_t zeroNonce[kNonceLen] = {0};
    k->seal = EVP_CIPHER_CTX_new();
    k->open = EVP_CIPHER_CTX_new();
    ok = k->seal != nullptr && k->open != nullptr &&
         EVP_EncryptInit_ex(k->seal, EVP_chacha20_poly1305(), nullptr, key, zeroNonce) == 1 &&
         EVP_DecryptInit_ex(k->open, EVP_chacha20_poly1305(), nullptr, key, zeroNonce) == 1 &&
         EVP_CIPHER_CTX_iv_length(k->seal) == static_cast<int>(kNonceLen);
  }
  OPENSSL_cleanse(key, sizeof key);
  if (!ok) {
    k->Release();
    delete k;
    return Throw(env, "E_CRYPTO_BACKEND", "OpenSSL EVP_chacha20_poly1305 could not be initialised");
  }
  k->direct = direct;
  k->alive = true;
  Napi::External<PacketKey> ext = Napi::External<PacketKey>::New(env, k, FinalizeKey);
  ext.TypeTag(&kPacketKeyTag);
  return ext;
}

// aeadEngine() -> { engine: 'direct' | 'evp', reason: string | null }: what a key created
// without an engine runs on, and why not direct.
Napi::Value AeadEngine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string& reason = wraith::aead::DirectUnavailableReason();
  Napi::Object o = Napi::Object::New(env);
  o.Set("engine", Napi::String::New(env, reason.empty() ? "direct" : "evp"));
  o.Set("reason", reason.empty() ? env.Null() : Napi::String::New(env, reason));
  return o;
}

// destroyPacketKey(handle) -> true the first time, false when already destroyed.
Napi::Value DestroyPacketKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) return Throw(env, "E_INTERNAL", "key must be a packet key handle", true);
  Napi::External<PacketKey> ext = info[0].As<Napi::External<PacketKey>>();
  if (!ext.CheckTypeTag(&kPacketKeyTag)) return Throw(env, "E_INTERNAL", "key is not a packet key handle", true);
  PacketKey* k = ext.Data();
  bool was = k->live();
  k->Release();  // the External (and k itself) is freed by the finalizer
  return Napi::Boolean::New(env, was);
}

// sealBatch(key, buf, count, offsets, headerLens, payloadLens, pns). Validates every packet
// before sealing any (E_NONCE_EXHAUSTED, E_INTERNAL, E_WIRE_TOO_LARGE), then seals packet i
// at buf[offsets[i] + headerLens[i]] in place, appends the tag, and adds 16 to payloadLens[i].
Napi::Value SealBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PacketKey* k = info.Length() > 0 ? GetKey(env, info[0]) : nullptr;
  if (k == nullptr) {
    if (!env.IsExceptionPending()) Throw(env, "E_INTERNAL", "sealBatch takes 7 arguments", true);
    return env.Undefined();
  }
  Batch b;
  if (!ReadBatch(env, info, false, &b)) return env.Undefined();
  thread_local Tails t;  // 255 views: kept off the stack
  t.any = false;
  t.nsrc = 0;
  if (!ReadTails(env, info, b, &t)) return env.Undefined();
  const uint32_t* off = b.off();
  const uint32_t* hl = b.hl();
  uint32_t* pl = b.pl();
  for (uint32_t i = 0; t.any && i < b.count; i++) {
    const uint32_t tl = t.tl()[i];
    if (tl == 0) continue;
    const uint32_t j = t.idx.data[i];
    if (j >= t.nsrc || tl > pl[i] || uint64_t{t.to()[i]} + tl > t.srcs[j].length) {
      return ThrowAt(env, "E_INTERNAL", "packet " + std::to_string(i) + ": its tail lies outside its source or payload", i,
                     NAN, b.buf.length);
    }
  }
  for (uint32_t i = 0; i < b.count; i++) {
    uint64_t pn;
    double raw;
    if (!b.Pn(i, &pn, &raw)) {
      return ThrowAt(env, raw > kMaxPnDouble ? "E_NONCE_EXHAUSTED" : "E_INTERNAL",
                     "packet " + std::to_string(i) + ": packet number " + Num(raw) +
                         " is not an integer in [0, 2^53-1]",
                     i, NAN, b.buf.length);
    }
    uint64_t end = uint64_t{off[i]} + hl[i] + pl[i] + kTagLen;
    if (end > b.buf.length || uint64_t{pl[i]} + kTagLen > UINT32_MAX) {
      return ThrowAt(env, "E_WIRE_TOO_LARGE",
                     "packet " + std::to_string(i) + ": sealing needs " + std::to_string(end) + " bytes, buffer has " +
                         std::to_string(b.buf.length),
                     i, static_cast<double>(end), b.buf.length);
    }
  }
  uint8_t nonce[kNonceLen];
  for (uint32_t i = 0; i < b.count; i++) {
    // Each value is read once and re-checked: the arrays may live in shared memory.
    uint64_t pn;
    double raw;
    const uint32_t o = off[i], h = hl[i], len = pl[i];
    const uint64_t end = uint64_t{o} + h + len + kTagLen;
    if (!b.Pn(i, &pn, &raw) || end > b.buf.length || uint64_t{len} + kTagLen > UINT32_MAX) {
      return ThrowAt(env, "E_INTERNAL", "packet " + std::to_string(i) + ": the batch changed while it was being sealed",
                     i, static_cast<double>(end), b.buf.length);
    }
    uint8_t* hdr = b.buf.data + o;
    uint8_t* p = hdr + h;
    // Lengths and offsets were checked above; the arrays may be shared memory, so re-check.
    const uint32_t tl = t.any ? t.tl()[i] : 0;
    const uint8_t* tail = nullptr;
    if (tl > 0) {
      const uint32_t j = t.idx.data[i], to = t.to()[i];
      if (j >= t.nsrc || tl > len || uint64_t{to} + tl > t.srcs[j].length) {
        return ThrowAt(env, "E_INTERNAL", "packet " + std::to_string(i) + ": the batch changed while it was being sealed", i,
                       NAN, b.buf.length);
      }
      tail = t.srcs[j].data + to;
    }
    if (k->direct) {
      if (tl > 0) {
        wraith::aead::SealTail(k->key, k->poly, pn, hdr, h, p, len, tail, tl, p + len);
      } else {
        wraith::aead::Seal(k->key, k->poly, pn, hdr, h, p, len, p + len);
      }
      pl[i] = len + kTagLen;
      continue;
    }
    if (tl > 0) std::memcpy(p + (len - tl), tail, tl);
    WriteNonce(nonce, pn);
    int outl = 0;
    if (EVP_EncryptInit_ex(k->seal, nullptr, nullptr, nullptr, nonce) != 1 || !Update(k->seal, nullptr, hdr, h) ||
        !Update(k->seal, p, p, len) || EVP_EncryptFinal_ex(k->seal, p + len, &outl) != 1 || outl != 0 ||
        !GetTag(k->seal, p + len)) {
      return ThrowAt(env, "E_INTERNAL", "packet " + std::to_string(i) + ": OpenSSL ChaCha20-Poly1305 seal failed", i,
                     static_cast<double>(end), b.buf.length);
    }
    pl[i] = len + kTagLen;
  }
  return env.Undefined();
}

// openBatch(key, buf, count, offsets, headerLens, payloadLens, pns, status) -> number opened.
// status[i] = 1 and payloadLens[i] -= 16 for an authentic packet (plaintext in place);
// status[i] = 0 otherwise, with the packet's bytes and payloadLens[i] untouched. A bad
// packet (short, out of the buffer, bad packet number, forged) never throws.
Napi::Value OpenBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PacketKey* k = info.Length() > 0 ? GetKey(env, info[0]) : nullptr;
  if (k == nullptr) {
    if (!env.IsExceptionPending()) Throw(env, "E_INTERNAL", "openBatch takes 8 arguments", true);
    return env.Undefined();
  }
  Batch b;
  if (!ReadBatch(env, info, true, &b)) return env.Undefined();
  const uint32_t* off = b.off();
  const uint32_t* hl = b.hl();
  uint32_t* pl = b.pl();
  uint8_t* status = b.status.data;
  uint8_t nonce[kNonceLen];
  uint8_t tag[kTagLen];
  uint8_t finalSink[kTagLen];  // EVP final output: always empty for a stream cipher
  uint32_t opened = 0;
  for (uint32_t i = 0; i < b.count; i++) {
    status[i] = 0;
    uint64_t pn;
    double raw;
    const uint32_t o = off[i], h = hl[i], len = pl[i];
    if (len < kTagLen || uint64_t{o} + h + len > b.buf.length || !b.Pn(i, &pn, &raw)) continue;
    uint8_t* hdr = b.buf.data + o;
    uint8_t* ct = hdr + h;
    const size_t n = len - kTagLen;
    std::memcpy(tag, ct + n, kTagLen);
    if (k->direct) {
      if (wraith::aead::Open(k->key, k->poly, pn, hdr, h, ct, n, tag)) {
        pl[i] = len - kTagLen;
        status[i] = 1;
        opened++;
      }
      continue;
    }
    WriteNonce(nonce, pn);
    int outl = 0;
    bool xored = false;
    const bool ok = EVP_DecryptInit_ex(k->open, nullptr, nullptr, nullptr, nonce) == 1 &&
                    Update(k->open, nullptr, hdr, h) && (xored = Update(k->open, ct, ct, n)) &&
                    SetTag(k->open, tag) && EVP_DecryptFinal_ex(k->open, finalSink, &outl) == 1 && outl == 0;
    if (!ok && xored) {
      // Not authentic: the same keystream XORed again puts the ciphertext back.
      if (EVP_DecryptInit_ex(k->open, nullptr, nullptr, nullptr, nonce) != 1 || !Update(k->open, ct, ct, n)) {
        OPENSSL_cleanse(ct, n);  // cannot fail after the same calls succeeded; never leave plaintext
      }
    }
    if (ok) {
      pl[i] = len - kTagLen;
      status[i] = 1;
      opened++;
    }
  }
  return Napi::Number::New(env, opened);
}

void InitCrypto(Napi::Env env, Napi::Object exports) {
  Napi::Object c = Napi::Object::New(env);
  c.Set("createPacketKey", Napi::Function::New(env, CreatePacketKey, "createPacketKey"));
  c.Set("destroyPacketKey", Napi::Function::New(env, DestroyPacketKey, "destroyPacketKey"));
  c.Set("sealBatch", Napi::Function::New(env, SealBatch, "sealBatch"));
  c.Set("openBatch", Napi::Function::New(env, OpenBatch, "openBatch"));
  c.Set("aeadEngine", Napi::Function::New(env, AeadEngine, "aeadEngine"));
  c.Set("tagLen", Napi::Number::New(env, kTagLen));
  c.Set("opensslVersion", Napi::String::New(env, OpenSSL_version(OPENSSL_VERSION)));
  exports.Set("crypto", c);
}

}  // namespace

WRAITH_REGISTER(InitCrypto);
