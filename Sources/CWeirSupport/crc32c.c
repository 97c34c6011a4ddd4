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

/* The bytes of each of the hardware path's three interleaved streams. */
#define WEIR_CRC32C_LONG 2048

/* a * b modulo the polynomial, both in the reflected representation (x^0 is the top bit). */
static uint32_t weir_crc32c_multmodp(uint32_t a, uint32_t b) {
    uint32_t m = (uint32_t)1 << 31, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0) break;
        }
        m >>= 1;
        b = (b & 1) ? (b >> 1) ^ WEIR_CRC32C_POLY : b >> 1;
    }
    return p;
}

/* x^(8 n) modulo the polynomial: the operator that appends n zero bytes to a CRC register. */
static uint32_t weir_crc32c_xpow8n(size_t n) {
    uint32_t x = (uint32_t)1 << 31;
    for (size_t i = 0; i < 8 * n; i++) x = (x & 1) ? (x >> 1) ^ WEIR_CRC32C_POLY : x >> 1;
    return x;
}

static uint32_t weir_crc32c_long_shift = 0;

__attribute__((target("sse4.2")))
static uint32_t weir_crc32c_update_hw(uint32_t crc, const void *data, size_t length) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t c = ~crc;
    while (length && ((uintptr_t)p & 7)) { c = _mm_crc32_u8((uint32_t)c, *p++); length--; }
    if (length >= 3 * WEIR_CRC32C_LONG) {
        /* Three independent streams of LONG bytes each: the crc32 instruction has a latency of
           about three cycles and a throughput of one, so one stream uses a third of it. The
           second and third stream start from zero and are shifted in afterwards (the register
           is linear: crc(c, A B) = shift(crc(c, A), |B|) ^ crc(0, B)). */
        uint32_t shift = __atomic_load_n(&weir_crc32c_long_shift, __ATOMIC_RELAXED);
        if (shift == 0) {
            shift = weir_crc32c_xpow8n(WEIR_CRC32C_LONG);
            __atomic_store_n(&weir_crc32c_long_shift, shift, __ATOMIC_RELAXED);
        }
        do {
            uint64_t c1 = 0, c2 = 0;
            const unsigned char *end = p + WEIR_CRC32C_LONG;
            do {
                uint64_t w0, w1, w2;
                memcpy(&w0, p, 8); memcpy(&w1, p + WEIR_CRC32C_LONG, 8); memcpy(&w2, p + 2 * WEIR_CRC32C_LONG, 8);
                c = _mm_crc32_u64(c, w0);
                c1 = _mm_crc32_u64(c1, w1);
                c2 = _mm_crc32_u64(c2, w2);
                p += 8;
            } while (p < end);
            c = weir_crc32c_multmodp(shift, (uint32_t)c) ^ (uint32_t)c1;
            c = weir_crc32c_multmodp(shift, (uint32_t)c) ^ (uint32_t)c2;
            p += 2 * WEIR_CRC32C_LONG;
            length -= 3 * WEIR_CRC32C_LONG;
        } while (length >= 3 * WEIR_CRC32C_LONG);
    }
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
