// Internet checksum (RFC 1071) for UDP over IPv4/IPv6, computed on frames
// already copied into UMEM (cache-hot), so JS never sums payload bytes.
#pragma once
#include <arpa/inet.h>
#include <cstdint>
#include <cstring>

namespace wraith::xdp {

// One's-complement sum of `len` bytes, in network byte order semantics.
// Summing native-endian words and swapping at the end is equivalent
// (RFC 1071 section 2(B), byte-order independence).
inline uint64_t CsumAdd(const uint8_t* p, size_t len, uint64_t sum) {
  while (len >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    sum += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    sum += w;
    p += 2;
    len -= 2;
  }
  if (len) {
    uint16_t w = 0;
    std::memcpy(&w, p, 1);  // odd trailing byte, padded with zero on the right
    sum += w;
  }
  return sum;
}

// Folds to 16 bits and complements; the result is in network byte order.
inline uint16_t CsumFinish(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

// Fills in the UDP checksum of an Ethernet frame carrying IPv4 or IPv6 + UDP.
// Returns false (frame untouched) when the headers are not laid out as the
// JS frame builder writes them.
inline bool FillUdpChecksum(uint8_t* f, size_t len) {
  if (len < 14) return false;
  uint16_t ethertype = static_cast<uint16_t>(f[12] << 8 | f[13]);
  uint64_t sum = 0;
  uint8_t* udp;
  if (ethertype == 0x0800) {
    if (len < 14 + 20) return false;
    size_t ihl = static_cast<size_t>(f[14] & 0x0f) * 4;
    if (ihl < 20 || f[14 + 9] != 17 || len < 14 + ihl + 8) return false;
    sum = CsumAdd(f + 14 + 12, 8, sum);  // pseudo-header: source and destination
    udp = f + 14 + ihl;
  } else if (ethertype == 0x86dd) {
    if (len < 14 + 40 + 8 || f[14 + 6] != 17) return false;
    sum = CsumAdd(f + 14 + 8, 32, sum);
    udp = f + 14 + 40;
  } else {
    return false;
  }
  size_t udpLen = static_cast<size_t>(udp[4] << 8 | udp[5]);
  if (udpLen < 8 || udp + udpLen > f + len) return false;
  uint8_t tail[4] = {0, 17, static_cast<uint8_t>(udpLen >> 8), static_cast<uint8_t>(udpLen)};
  sum = CsumAdd(tail, 4, sum);  // zero, protocol, UDP length (same sum for the IPv6 layout)
  udp[6] = udp[7] = 0;
  sum = CsumAdd(udp, udpLen, sum);
  uint16_t c = CsumFinish(sum);
  if (c == 0) c = 0xffff;  // RFC 768: a computed zero is sent as all ones
  std::memcpy(udp + 6, &c, 2);
  return true;
}

}  // namespace wraith::xdp
