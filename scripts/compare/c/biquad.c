/*
 * Biquad cascade baseline: 4 second-order sections (order-8 Butterworth low-pass from scipy),
 * direct form II transposed, float32.
 *   (a) one channel, sample by sample through all sections, once as the textbook DF2T and once
 *       with the recurrence rearranged to one fused multiply-add per state (the figure that
 *       counts; the textbook one is kept to show what the rearrangement buys);
 *   (b) 8 channels interleaved (x[n*8 + c]), the channel loop innermost so gcc turns it into
 *       one 8-lane vector per section.
 * Coefficients are hoisted into locals so the inner loop keeps them in registers.
 *
 * usage: biquad TRACE.f32 SOS.txt RESULTS.jsonl VERIFY_DIR REPS
 * The trace is interleaved I,Q float32. Channel 0 of (a) is I. Channel c of (b) is I (c even) or
 * Q (c odd) shifted by (c/2)*1000 samples, circularly, the same construction as
 * scipy_parts.py uses.
 */
#include "common.h"

#define NSEC 4
#define NCH 8
#define VERIFY_LEN 65536

/* Textbook DF2T: y = b0 x + s1, s1 = b1 x - a1 y + s2, s2 = b2 x - a2 y. The loop-carried
 * chain of a section is two fused multiply-adds (y from s1, then s1 from y). */
__attribute__((noinline)) static void cascade_1ch_plain(const float *restrict x,
                                                        float *restrict y, size_t n,
                                                        const float sos[NSEC][5])
{
    float b0[NSEC], b1[NSEC], b2[NSEC], a1[NSEC], a2[NSEC];
    float s1[NSEC] = {0}, s2[NSEC] = {0};
    for (int k = 0; k < NSEC; k++) {
        b0[k] = sos[k][0];
        b1[k] = sos[k][1];
        b2[k] = sos[k][2];
        a1[k] = sos[k][3];
        a2[k] = sos[k][4];
    }
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        /* Sections of one sample depend on each other, but section k of sample i+1 only waits
         * for section k of sample i: the out-of-order core overlaps the four recurrences. The
         * brackets keep each recurrence at two fused multiply-adds (out, then s1). */
#pragma GCC unroll 4
        for (int k = 0; k < NSEC; k++) {
            float out = b0[k] * v + s1[k];
            s1[k] = (b1[k] * v + s2[k]) - a1[k] * out;
            s2[k] = b2[k] * v - a2[k] * out;
            v = out;
        }
        y[i] = v;
    }
}

/* The same DF2T states with y substituted into the updates:
 *   s1' = (b1 - a1 b0) x + s2 - a1 s1,   s2' = (b2 - a2 b0) x - a2 s1,   y = b0 x + s1.
 * Each state now waits on one fused multiply-add per sample instead of two, so a single
 * channel is no longer bound by the latency of its recurrence. Same result to float rounding
 * (verify.py checks it against scipy). */
__attribute__((noinline)) static void cascade_1ch(const float *restrict x, float *restrict y,
                                                  size_t n, const float sos[NSEC][5])
{
    float b0[NSEC], c1[NSEC], c2[NSEC], a1[NSEC], a2[NSEC];
    float s1[NSEC] = {0}, s2[NSEC] = {0};
    for (int k = 0; k < NSEC; k++) {
        b0[k] = sos[k][0];
        a1[k] = sos[k][3];
        a2[k] = sos[k][4];
        c1[k] = sos[k][1] - sos[k][3] * sos[k][0];
        c2[k] = sos[k][2] - sos[k][4] * sos[k][0];
    }
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
#pragma GCC unroll 4
        for (int k = 0; k < NSEC; k++) {
            float out = b0[k] * v + s1[k];
            float next = c1[k] * v + s2[k];
            s2[k] = c2[k] * v - a2[k] * s1[k];
            s1[k] = next - a1[k] * s1[k];
            v = out;
        }
        y[i] = v;
    }
}

__attribute__((noinline)) static void cascade_8ch(const float *restrict x, float *restrict y, size_t frames,
                        const float sos[NSEC][5])
{
    /* Coefficients broadcast per lane so every operand is an 8-wide array. */
    float b0[NSEC][NCH], b1[NSEC][NCH], b2[NSEC][NCH], a1[NSEC][NCH], a2[NSEC][NCH];
    float s1[NSEC][NCH] = {{0}}, s2[NSEC][NCH] = {{0}};
    for (int k = 0; k < NSEC; k++)
        for (int c = 0; c < NCH; c++) {
            b0[k][c] = sos[k][0];
            b1[k][c] = sos[k][1];
            b2[k][c] = sos[k][2];
            a1[k][c] = sos[k][3];
            a2[k][c] = sos[k][4];
        }
    for (size_t i = 0; i < frames; i++) {
        float v[NCH];
        for (int c = 0; c < NCH; c++)
            v[c] = x[i * NCH + c];
#pragma GCC unroll 4
        for (int k = 0; k < NSEC; k++) {
            for (int c = 0; c < NCH; c++) {
                float out = b0[k][c] * v[c] + s1[k][c];
                s1[k][c] = (b1[k][c] * v[c] + s2[k][c]) - a1[k][c] * out;
                s2[k][c] = b2[k][c] * v[c] - a2[k][c] * out;
                v[c] = out;
            }
        }
        for (int c = 0; c < NCH; c++)
            y[i * NCH + c] = v[c];
    }
}

int main(int argc, char **argv)
{
    if (argc != 6)
        die("usage: biquad TRACE.f32 SOS.txt RESULTS.jsonl VERIFY_DIR REPS", NULL);
    const char *results = argv[3], *vdir = argv[4];
    int reps = atoi(argv[5]);
    float sos[NSEC][5];
    if (read_sos(argv[2], sos, NSEC) != NSEC)
        die("need exactly 4 sections in", argv[2]);

    size_t nf;
    float *iq = read_f32(argv[1], &nf);
    size_t n = nf / 2;
    float *x1 = aligned_alloc(64, (n * 4 + 63) / 64 * 64);
    float *y1 = aligned_alloc(64, (n * 4 + 63) / 64 * 64);
    float *x8 = aligned_alloc(64, (n * NCH * 4 + 63) / 64 * 64);
    float *y8 = aligned_alloc(64, (n * NCH * 4 + 63) / 64 * 64);
    if (!x1 || !y1 || !x8 || !y8)
        die("out of memory", NULL);
    for (size_t i = 0; i < n; i++)
        x1[i] = iq[2 * i];
    for (int c = 0; c < NCH; c++) {
        size_t shift = (size_t)(c / 2) * 1000 % n;
        for (size_t i = 0; i < n; i++)
            x8[i * NCH + c] = iq[2 * ((i + shift) % n) + (c % 2)];
    }
    memset(y1, 0, n * 4);
    memset(y8, 0, n * NCH * 4);

    best_time best1 = BEST_INIT, best8 = BEST_INIT, best_plain = BEST_INIT;
    for (int r = -1; r < reps; r++) { /* r = -1 is the warm-up */
        stamp t0 = stamp_now();
        cascade_1ch_plain(x1, y1, n, sos);
        stamp t1 = stamp_now();
        cascade_8ch(x8, y8, n, sos);
        stamp t2 = stamp_now();
        cascade_1ch(x1, y1, n, sos);
        stamp t3 = stamp_now();
        if (r >= 0) {
            best_update(&best_plain, t0, t1);
            best_update(&best8, t1, t2);
            best_update(&best1, t2, t3);
        }
    }

    size_t nv = n < VERIFY_LEN ? n : VERIFY_LEN;
    char path[4096];
    snprintf(path, sizeof path, "%s/biquad_1ch.f32", vdir);
    write_f32(path, y1, nv);
    snprintf(path, sizeof path, "%s/biquad_8ch.f32", vdir);
    write_f32(path, y8, nv * NCH);
    cascade_1ch_plain(x1, y1, nv, sos); /* overwrites the head of y1, now saved */
    snprintf(path, sizeof path, "%s/biquad_1ch_plain.f32", vdir);
    write_f32(path, y1, nv);

    put_result(results, "c_biquad_1ch", "C biquad, 1 ch",
               "DF2T f32, 4 sections (LP order 8), one FMA per recurrence", n, 0.0, 1,
               best1, NULL);
    put_result(results, "c_biquad_1ch_plain", "C biquad, 1 ch, textbook",
               "DF2T f32, 4 sections, as written in textbooks", n, 0.0, 1, best_plain,
               NULL);
    put_result(results, "c_biquad_8ch", "C biquad, 8 ch",
               "DF2T f32, 4 sections, 8 interleaved ch, vectorised across ch",
               (double)n * NCH, 0.0, NCH, best8, NULL);
    free(iq);
    free(x1);
    free(y1);
    free(x8);
    free(y8);
    return 0;
}
