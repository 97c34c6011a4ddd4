#include "CWeirSupport.h"
#include <string.h>

#define WEIR_CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

static uint32_t weir_crc32c_table[8][256];
static int weir_crc32c_table_ready = 0;

static void weir_crc32c_init_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ WEIR_CRC32C_POLY : c >> 1;
        weir_crc32c_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = weir_crc32c_table[0][n];
        for (int t = 1; t < 8; t++) {
            c = weir_crc32c_table[0][c & 0xff] ^ (c >> 8);
            weir_crc32c_table[t][n] = c;
        }
    }
    __atomic_store_n(&weir_crc32c_table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t weir_crc32c_update_sw(uint32_t crc, const void *data, size_t length) {
    if (!__atomic_load_n(&weir_crc32c_table_ready, __ATOMIC_ACQUIRE)) weir_crc32c_init_table();
    const unsigned char *p = (const unsigned char *)data;
    uint32_t c = ~crc;
    while (length && ((uintptr_t)p & 7)) { c = weir_crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8); length--; }
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        word ^= c;
        c = weir_crc32c_table[7][word & 0xff] ^ weir_crc32c_table[6][(word >> 8) & 0xff] ^
            weir_crc32c_table[5][(word >> 16) & 0xff] ^ weir_crc32c_table[4][(word >> 24) & 0xff] ^
            weir_crc32c_table[3][(word >> 32) & 0xff] ^ weir_crc32c_table[2][(word >> 40) & 0xff] ^
            weir_crc32c_table[1][(word >> 48) & 0xff] ^ weir_crc32c_table[0][word >> 56];
        p += 8;
        length -= 8;
    }
    while (length--) c = weir_crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t weir_crc32c_update_hw(uint32_t crc, const void *data, size_t length) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t c = ~crc;
    while (length && ((uintptr_t)p & 7)) { c = _mm_crc32_u8((uint32_t)c, *p++); length--; }
    while (length >= 32) {
        uint64_t w0, w1, w2, w3;
        memcpy(&w0, p, 8); memcpy(&w1, p + 8, 8); memcpy(&w2, p + 16, 8); memcpy(&w3, p + 24, 8);
        c = _mm_crc32_u64(c, w0);
        c = _mm_crc32_u64(c, w1);
        c = _mm_crc32_u64(c, w2);
        c = _mm_crc32_u64(c, w3);
        p += 32;
        length -= 32;
    }
    while (length >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        length -= 8;
    }
    while (length--) c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}

static int weir_crc32c_hw_state = -1;

int weir_crc32c_hardware(void) {
    int s = __atomic_load_n(&weir_crc32c_hw_state, __ATOMIC_RELAXED);
    if (s < 0) {
        __builtin_cpu_init();
        s = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&weir_crc32c_hw_state, s, __ATOMIC_RELAXED);
    }
    return s;
}

uint32_t weir_crc32c_update(uint32_t crc, const void *data, size_t length) {
    if (weir_crc32c_hardware()) return weir_crc32c_update_hw(crc, data, length);
    return weir_crc32c_update_sw(crc, data, length);
}
#else
int weir_crc32c_hardware(void) { return 0; }
uint32_t weir_crc32c_update(uint32_t crc, const void *data, size_t length) {
    return weir_crc32c_update_sw(crc, data, length);
}
#endif
