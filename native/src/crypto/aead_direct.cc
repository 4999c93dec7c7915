#include "crypto/aead_direct.h"

#include <dlfcn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>

namespace wraith::aead {
namespace {

// Prototypes as in OpenSSL's include/crypto/chacha.h and include/crypto/poly1305.h, unchanged
// since 1.1.0. counter[0] is the block counter, counter[1..3] the nonce words.
using ChaChaFn = void (*)(unsigned char* out, const unsigned char* in, size_t len, const unsigned int key[8],
                          const unsigned int counter[4]);
using PolySizeFn = size_t (*)();
using PolyInitFn = void (*)(void* ctx, const unsigned char key[32]);
using PolyUpdateFn = void (*)(void* ctx, const unsigned char* in, size_t len);
using PolyFinalFn = void (*)(void* ctx, unsigned char mac[16]);

ChaChaFn chacha = nullptr;
PolyInitFn polyInit = nullptr;
PolyUpdateFn polyUpdate = nullptr;
PolyFinalFn polyFinal = nullptr;

// Keystream source; also bounds the in-place part sealed in one call with the MAC key.
constexpr size_t kShortHead = 128;
const uint8_t kZeros[64 + kShortHead] = {0};

inline void Counter(unsigned int ctr[4], uint32_t block, uint64_t pn) {
  // Nonce = 4 zero bytes ‖ u64 LE pn, read as three little-endian words.
  ctr[0] = block;
  ctr[1] = 0;
  ctr[2] = static_cast<uint32_t>(pn);
  ctr[3] = static_cast<uint32_t>(pn >> 32);
}

inline void PadTo16(void* poly, size_t n) {
  if ((n & 15) != 0) polyUpdate(poly, kZeros, 16 - (n & 15));
}

// Keys the MAC with block 0 and feeds aad ‖ pad ‖ ct ‖ pad ‖ le64 lengths; writes the tag.
// MacKeyed takes block 0's keystream already made (its first 32 bytes key Poly1305).
void MacKeyed(const uint8_t block0[32], void* poly, const uint8_t* aad, size_t alen, const uint8_t* ct, size_t len,
              uint8_t tag[16]) {
  polyInit(poly, block0);
  if (alen > 0) polyUpdate(poly, aad, alen);
  PadTo16(poly, alen);
  if (len > 0) polyUpdate(poly, ct, len);
  PadTo16(poly, len);
  uint8_t lens[16];
  for (int i = 0; i < 8; i++) {
    lens[i] = static_cast<uint8_t>(static_cast<uint64_t>(alen) >> (8 * i));
    lens[8 + i] = static_cast<uint8_t>(static_cast<uint64_t>(len) >> (8 * i));
  }
  polyUpdate(poly, lens, sizeof lens);
  polyFinal(poly, tag);
}

void Mac(const uint32_t key[8], void* poly, uint64_t pn, const uint8_t* aad, size_t alen, const uint8_t* ct,
         size_t len, uint8_t tag[16]) {
  unsigned int ctr[4];
  Counter(ctr, 0, pn);
  uint8_t block0[64];
  chacha(block0, kZeros, sizeof block0, key, ctr);
  MacKeyed(block0, poly, aad, alen, ct, len, tag);
  OPENSSL_cleanse(block0, sizeof block0);
}

inline void Xor(const uint32_t key[8], uint64_t pn, uint8_t* p, size_t len) {
  if (len == 0) return;
  unsigned int ctr[4];
  Counter(ctr, 1, pn);
  chacha(p, p, len, key, ctr);
}

// EVP's answer for one packet, the reference the composition must match.
bool EvpSeal(const uint8_t key[32], uint64_t pn, const uint8_t* aad, size_t alen, uint8_t* p, size_t len,
             uint8_t tag[16]) {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  if (c == nullptr) return false;
  uint8_t nonce[12] = {0};
  for (int i = 0; i < 8; i++) nonce[4 + i] = static_cast<uint8_t>(pn >> (8 * i));
  int outl = 0;
  OSSL_PARAM params[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, 16),
                          OSSL_PARAM_construct_end()};
  bool ok = EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), nullptr, key, nonce) == 1 &&
            (alen == 0 || EVP_EncryptUpdate(c, nullptr, &outl, aad, static_cast<int>(alen)) == 1) &&
            (len == 0 || EVP_EncryptUpdate(c, p, &outl, p, static_cast<int>(len)) == 1) &&
            EVP_EncryptFinal_ex(c, p + len, &outl) == 1 && EVP_CIPHER_CTX_get_params(c, params) == 1;
  EVP_CIPHER_CTX_free(c);
  return ok;
}

// Every length class the assembly distinguishes (blocks of 64, 16x/8x paths, Poly1305 tails).
std::string SelfTest() {
  const size_t lens[] = {0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513,
                         1023, 1024, 1025, 1200, 1383, 1400, 1436, 2048, 4097, 9000, 65000};
  const size_t aadLens[] = {0, 1, 13, 16, 21, 32};
  const uint64_t pns[] = {0, 1, 0xfffffffeULL, 0x100000001ULL, 0x1fffffffffffffULL, 0xffffffffffffffffULL};
  static uint8_t a[65000 + 16], b[65000 + 16], aad[32];
  alignas(64) uint8_t poly[kPolyCtxMax];
  uint8_t keyBytes[32];
  uint32_t key[8];
  int round = 0;
  for (size_t len : lens) {
    for (size_t alen : aadLens) {
      round++;
      for (int i = 0; i < 32; i++) keyBytes[i] = static_cast<uint8_t>(i * 29 + round * 7 + 3);
      std::memcpy(key, keyBytes, sizeof key);
      for (size_t i = 0; i < alen; i++) aad[i] = static_cast<uint8_t>(i * 5 + round);
      for (size_t i = 0; i < len; i++) a[i] = b[i] = static_cast<uint8_t>(i * 131 + round * 17);
      const uint64_t pn = pns[round % 6];
      uint8_t tagA[16], tagB[16];
      if (!EvpSeal(keyBytes, pn, aad, alen, a, len, tagA)) return "EVP ChaCha20-Poly1305 failed in the self-test";
      Seal(key, poly, pn, aad, alen, b, len, tagB);
      if (std::memcmp(a, b, len) != 0 || std::memcmp(tagA, tagB, 16) != 0) {
        return "the composition differs from EVP on " + std::to_string(len) + " bytes";
      }
      // The same packet with its last tlen bytes sealed from elsewhere: identical bytes.
      static uint8_t c[65000 + 16], src[65000];
      const size_t tlen = len * static_cast<size_t>(round % 4) / 3;
      for (size_t i = 0; i < len; i++) c[i] = static_cast<uint8_t>(i * 131 + round * 17);
      std::memcpy(src, c + (len - tlen), tlen);
      std::memset(c + (len - tlen), 0xee, tlen);
      uint8_t tagC[16];
      SealTail(key, poly, pn, aad, alen, c, len, src, tlen, tagC);
      if (std::memcmp(a, c, len) != 0 || std::memcmp(tagA, tagC, 16) != 0) {
        return "sealing a tail from its source differs from EVP on " + std::to_string(len) + " bytes";
      }
      tagB[round % 16] ^= 1;
      if (Open(key, poly, pn, aad, alen, b, len, tagB) || std::memcmp(a, b, len) != 0) {
        return "a forged tag was accepted or changed the packet";
      }
      tagB[round % 16] ^= 1;
      if (!Open(key, poly, pn, aad, alen, b, len, tagB)) return "an authentic packet did not open";
      for (size_t i = 0; i < len; i++) {
        if (b[i] != static_cast<uint8_t>(i * 131 + round * 17)) return "open did not give the plaintext back";
      }
    }
  }
  return "";
}

std::string Resolve() {
  if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__) return "the key and nonce words are laid out for little-endian hosts";
  chacha = reinterpret_cast<ChaChaFn>(dlsym(RTLD_DEFAULT, "ChaCha20_ctr32"));
  auto polySize = reinterpret_cast<PolySizeFn>(dlsym(RTLD_DEFAULT, "Poly1305_ctx_size"));
  polyInit = reinterpret_cast<PolyInitFn>(dlsym(RTLD_DEFAULT, "Poly1305_Init"));
  polyUpdate = reinterpret_cast<PolyUpdateFn>(dlsym(RTLD_DEFAULT, "Poly1305_Update"));
  polyFinal = reinterpret_cast<PolyFinalFn>(dlsym(RTLD_DEFAULT, "Poly1305_Final"));
  if (chacha == nullptr || polySize == nullptr || polyInit == nullptr || polyUpdate == nullptr ||
      polyFinal == nullptr) {
    return "the node binary does not export ChaCha20_ctr32 and Poly1305_*";
  }
  if (polySize() > kPolyCtxMax) return "Poly1305_ctx_size() is larger than expected";
  return SelfTest();
}

}  // namespace

const std::string& DirectUnavailableReason() {
  static const std::string reason = Resolve();
  return reason;
}

void Seal(const uint32_t key[8], void* poly, uint64_t pn, const uint8_t* aad, size_t alen, uint8_t* p, size_t len,
          uint8_t tag[16]) {
  Xor(key, pn, p, len);
  Mac(key, poly, pn, aad, alen, p, len, tag);
}

// Blocks from 1 + inPlace/64 on: the tail, encrypted from where it is into p + inPlace.
inline void EncryptRest(const uint32_t key[8], uint64_t pn, uint8_t* p, size_t inPlace, const uint8_t* rest,
                        size_t n) {
  if (n == 0) return;
  unsigned int ctr[4];
  Counter(ctr, static_cast<uint32_t>(1 + inPlace / 64), pn);
  chacha(p + inPlace, rest, n, key, ctr);
}

void SealTail(const uint32_t key[8], void* poly, uint64_t pn, const uint8_t* aad, size_t alen, uint8_t* p, size_t len,
              const uint8_t* tail, size_t tlen, uint8_t tag[16]) {
  // The keystream runs in 64-byte blocks: bring the tail's first bytes in until the in-place
  // part ends on a block boundary, then encrypt the rest of the tail from where it is.
  const size_t head = len - tlen;
  const size_t fill = std::min(tlen, (64 - head % 64) % 64);
  std::memcpy(p + head, tail, fill);
  const size_t inPlace = head + fill;
  if (inPlace > kShortHead) {
    Xor(key, pn, p, inPlace);
  } else {
    // One keystream call makes the MAC key (block 0) and the in-place part's blocks: a short
    // call costs about as much as a long one's setup.
    unsigned int ctr[4];
    Counter(ctr, 0, pn);
    uint8_t ks[64 + kShortHead];
    chacha(ks, kZeros, 64 + inPlace, key, ctr);
    for (size_t i = 0; i < inPlace; i++) p[i] ^= ks[64 + i];
    EncryptRest(key, pn, p, inPlace, tail + fill, tlen - fill);
    MacKeyed(ks, poly, aad, alen, p, len, tag);
    OPENSSL_cleanse(ks, sizeof ks);
    return;
  }
  EncryptRest(key, pn, p, inPlace, tail + fill, tlen - fill);
  Mac(key, poly, pn, aad, alen, p, len, tag);
}

bool Open(const uint32_t key[8], void* poly, uint64_t pn, const uint8_t* aad, size_t alen, uint8_t* ct, size_t len,
          const uint8_t tag[16]) {
  uint8_t want[16];
  Mac(key, poly, pn, aad, alen, ct, len, want);
  const bool ok = CRYPTO_memcmp(want, tag, 16) == 0;
  if (ok) Xor(key, pn, ct, len);
  return ok;
}

}  // namespace wraith::aead
