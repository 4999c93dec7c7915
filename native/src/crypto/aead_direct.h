// ChaCha20-Poly1305 (RFC 8439) composed from the two primitives of the node binary's OpenSSL
// that its EVP provider itself runs: ChaCha20_ctr32 and Poly1305_{Init,Update,Final}.
// Per 1400-byte packet this costs ~0.75 µs against ~1.0 µs through EVP: the provider's
// dispatch, parameter arrays and tag handling are a quarter of the work at this size.
// The symbols are found at load time (dlsym); when any is missing, or the composition does
// not reproduce EVP's bytes on a self-test, the caller stays on EVP.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace wraith::aead {

constexpr size_t kPolyCtxMax = 512;  // Poly1305_ctx_size() is ~200 bytes in OpenSSL 3

// Resolves the primitives and self-tests them against EVP once. Empty string: usable.
const std::string& DirectUnavailableReason();

// Seals p[0, len) in place with AAD aad[0, alen) and writes the 16-byte tag.
// key: the 32 key bytes as 8 little-endian words; poly: a scratch context (kPolyCtxMax bytes,
// 64-byte aligned) that is left holding nothing secret beyond what the next call overwrites.
void Seal(const uint32_t key[8], void* poly, uint64_t pn, const uint8_t* aad, size_t alen, uint8_t* p, size_t len,
          uint8_t tag[16]);

// Seal, except that the last tlen bytes of the payload are read from tail (not from p) and
// written encrypted into p[len - tlen, len): the copy into the packet and the encryption are
// one pass. tail must not overlap p.
void SealTail(const uint32_t key[8], void* poly, uint64_t pn, const uint8_t* aad, size_t alen, uint8_t* p, size_t len,
              const uint8_t* tail, size_t tlen, uint8_t tag[16]);

// Checks the tag over aad and ciphertext ct[0, len) first and decrypts in place only when
// it is authentic: a forged packet's bytes are never touched.
bool Open(const uint32_t key[8], void* poly, uint64_t pn, const uint8_t* aad, size_t alen, uint8_t* ct, size_t len,
          const uint8_t tag[16]);

}  // namespace wraith::aead
