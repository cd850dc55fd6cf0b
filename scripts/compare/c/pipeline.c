/*
 * The detector front end in careful C + FFTW, the same stages as scipy_pipeline.py:
 *   high-pass (Butterworth order 4, 100 Hz: 2 biquads, DF2T f32) on I and Q,
 *   STFT (periodic Hann, frame 128, hop 32, fftwf complex, FFTW_MEASURE),
 *   forward and reverse band powers (sum of |X|^2 over bins 1..N/2-1 and N/2+1..N-1),
 *   running median of each band over the last 256 frames (this one included),
 *   detection: a band over its median by THRESHOLD_DB.
 * Streaming: the input is taken in chunks of CHUNK samples, filtered into a buffer that keeps
 * the last FRAME-HOP filtered samples, and every complete frame is analysed as it appears.
 *
 * A second mode runs one real 16 kHz channel (I only): the same high-pass, a real spectrum,
 * one band power (bins 1..N/2-1), its running median and the detection. The spectrum comes
 * two frames per complex FFT (faster here, see band_power_pair), and once more from FFTW's
 * r2c transform, one per frame, for comparison.
 *
 * usage: pipeline TRACE.f32 SOS_HP.txt RESULTS.jsonl VERIFY_DIR REPS THRESHOLD_DB
 * Writes VERIFY_DIR/pipeline_c.f32 (per frame: forward, reverse, detection as 0/1) and
 * pipeline_c_real*.f32 (per frame: power, detection) for verify.py to compare with scipy.
 */
#include <complex.h>
#include <fftw3.h>
#include <math.h>

#include "common.h"

#define NSEC 2
#define FRAME 128
#define HOP 32
#define MEDIAN_LEN 256
#define CHUNK 4096

_Static_assert((MEDIAN_LEN & (MEDIAN_LEN - 1)) == 0, "lower_bound_full needs a power of two");

/* ---- running median over the last MEDIAN_LEN values ------------------------------------ */

/* A sorted copy of the window beside the ring of arrival order: one binary search and one
 * memmove per update. At 256 floats that is a few hundred bytes moved per frame, well under
 * the cost of the FFT, and the answer is exact (no histogram, no approximation). */
typedef struct {
    float ring[MEDIAN_LEN];
    float sorted[MEDIAN_LEN];
    int count, head;
} running_median;

/* First index whose value is not below v. Branch-free steps (cmov): the comparisons follow
 * the data, so branches on them would mispredict about half the time. */
static inline size_t lower_bound(const float *a, size_t n, float v)
{
    size_t lo = 0, len = n;
    while (len > 0) {
        size_t half = len / 2;
        int less = a[lo + half] < v;
        lo = less ? lo + half + 1 : lo;
        len = less ? len - half - 1 : half;
    }
    return lo;
}

/* The same for a full window: MEDIAN_LEN is a power of two, so the search is a fixed ladder
 * of halving steps with no loop-exit branch to mispredict. */
static inline size_t lower_bound_full(const float *a, float v)
{
    size_t lo = 0;
    for (size_t step = MEDIAN_LEN / 2; step > 0; step /= 2)
        lo += a[lo + step - 1] < v ? step : 0;
    return lo + (a[lo] < v);
}

/* Adds v and returns the median of the window: the element of rank count/2 (for a full
 * window, rank 128 of 256, the same element scipy.ndimage.median_filter picks). */
static inline float median_push(running_median *m, float v)
{
    float *s = m->sorted;
    if (m->count < MEDIAN_LEN) {
        size_t at = lower_bound(s, (size_t)m->count, v);
        memmove(s + at + 1, s + at, sizeof(float) * ((size_t)m->count - at));
        s[at] = v;
        m->ring[m->count++] = v;
    } else {
        float old = m->ring[m->head];
        m->ring[m->head] = v;
        m->head = (m->head + 1) % MEDIAN_LEN;
        size_t out = lower_bound_full(s, old);
        /* Close the gap at `out` and open one where v belongs, in one move. */
        size_t at = lower_bound_full(s, v);
        if (at > out) {
            at--;
            memmove(s + out, s + out + 1, sizeof(float) * (at - out));
        } else {
            memmove(s + at + 1, s + at, sizeof(float) * (out - at));
        }
        s[at] = v;
    }
    return s[m->count / 2];
}

/* ---- the high-pass ------------------------------------------------------------------------ */

typedef struct {
    float b0[NSEC], b1[NSEC], b2[NSEC], a1[NSEC], a2[NSEC];
} sos_coeffs;

/* Filters n complex samples (interleaved I,Q) through the cascade; state s1/s2[section][I|Q]. */
static inline void highpass_iq(const sos_coeffs *restrict c, float s1[NSEC][2], float s2[NSEC][2],
                               const float *restrict x, float *restrict y, size_t n)
{
    float b0[NSEC], b1[NSEC], b2[NSEC], a1[NSEC], a2[NSEC];
    float u1[NSEC][2], u2[NSEC][2];
    memcpy(b0, c->b0, sizeof b0);
    memcpy(b1, c->b1, sizeof b1);
    memcpy(b2, c->b2, sizeof b2);
    memcpy(a1, c->a1, sizeof a1);
    memcpy(a2, c->a2, sizeof a2);
    memcpy(u1, s1, sizeof u1);
    memcpy(u2, s2, sizeof u2);
    for (size_t i = 0; i < n; i++) {
        for (int q = 0; q < 2; q++) {
            float v = x[2 * i + q];
            for (int k = 0; k < NSEC; k++) {
                float out = b0[k] * v + u1[k][q];
                u1[k][q] = (b1[k] * v + u2[k][q]) - a1[k] * out;
                u2[k][q] = b2[k] * v - a2[k] * out;
                v = out;
            }
            y[2 * i + q] = v;
        }
    }
    memcpy(s1, u1, sizeof u1);
    memcpy(s2, u2, sizeof u2);
}

/* One real channel: the DF2T states with y substituted into the updates (see c/biquad.c),
 * one fused multiply-add per state and sample. With I and Q above, the two channels already
 * overlap and the textbook form measured faster, so each form is used where it wins. */
static inline void highpass_real(const sos_coeffs *restrict c, float s1[NSEC], float s2[NSEC],
                                 const float *restrict x, size_t stride, float *restrict y,
                                 size_t n)
{
    float b0[NSEC], c1[NSEC], c2[NSEC], a1[NSEC], a2[NSEC], u1[NSEC], u2[NSEC];
    for (int k = 0; k < NSEC; k++) {
        b0[k] = c->b0[k];
        a1[k] = c->a1[k];
        a2[k] = c->a2[k];
        c1[k] = c->b1[k] - c->a1[k] * c->b0[k];
        c2[k] = c->b2[k] - c->a2[k] * c->b0[k];
    }
    memcpy(u1, s1, sizeof u1);
    memcpy(u2, s2, sizeof u2);
    for (size_t i = 0; i < n; i++) {
        float v = x[i * stride];
        for (int k = 0; k < NSEC; k++) {
            float out = b0[k] * v + u1[k];
            float next = c1[k] * v + u2[k];
            u2[k] = c2[k] * v - a2[k] * u1[k];
            u1[k] = next - a1[k] * u1[k];
            v = out;
        }
        y[i] = v;
    }
    memcpy(s1, u1, sizeof u1);
    memcpy(s2, u2, sizeof u2);
}

/* ---- band powers ------------------------------------------------------------------------- */

/* |X|^2 per bin, then sums in 8 partial accumulators: a single running sum would be a chain of
 * 63 dependent adds per band, longer than the FFT itself. DC and N/2 belong to neither band. */
static inline void band_powers(const fftwf_complex *restrict spectrum, float *fwd, float *rev)
{
    const float *X = (const float *)spectrum;
    float p[FRAME] __attribute__((aligned(64)));
    for (int k = 0; k < FRAME; k++)
        p[k] = X[2 * k] * X[2 * k] + X[2 * k + 1] * X[2 * k + 1];
    p[0] = 0.0f;
    p[FRAME / 2] = 0.0f;
    float af[8] = {0}, ar[8] = {0};
    for (int k = 0; k < FRAME / 2; k += 8)
        for (int l = 0; l < 8; l++) {
            af[l] += p[k + l];
            ar[l] += p[FRAME / 2 + k + l];
        }
    *fwd = ((af[0] + af[1]) + (af[2] + af[3])) + ((af[4] + af[5]) + (af[6] + af[7]));
    *rev = ((ar[0] + ar[1]) + (ar[2] + ar[3])) + ((ar[4] + ar[5]) + (ar[6] + ar[7]));
}

/* Real input: bins 0..N/2 of the r2c output; the band is 1..N/2-1. */
static inline float band_power_real(const fftwf_complex *restrict spectrum)
{
    const float *X = (const float *)spectrum;
    float p[FRAME / 2] __attribute__((aligned(64)));
    for (int k = 0; k < FRAME / 2; k++)
        p[k] = X[2 * k] * X[2 * k] + X[2 * k + 1] * X[2 * k + 1];
    p[0] = 0.0f;
    float a[8] = {0};
    for (int k = 0; k < FRAME / 2; k += 8)
        for (int l = 0; l < 8; l++)
            a[l] += p[k + l];
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* Two real frames a and b packed into one complex input z = a + ib share one c2c FFT:
 * A[k] = (Z[k] + conj Z[N-k]) / 2 and B[k] = (Z[k] - conj Z[N-k]) / 2i. This build of FFTW
 * takes longer for one 128-point r2c than for one 128-point c2c, so the pair costs about
 * what a single r2c would. Returns the powers of bins 1..N/2-1 of a and of b. */
static inline void band_power_pair(const fftwf_complex *restrict spectrum, float *pa, float *pb)
{
    const float *Z = (const float *)spectrum;
    float qa[FRAME / 2] __attribute__((aligned(64)));
    float qb[FRAME / 2] __attribute__((aligned(64)));
    qa[0] = qb[0] = 0.0f;
    for (int k = 1; k < FRAME / 2; k++) {
        float re = Z[2 * k], im = Z[2 * k + 1];
        float rm = Z[2 * (FRAME - k)], imm = Z[2 * (FRAME - k) + 1];
        qa[k] = (re + rm) * (re + rm) + (im - imm) * (im - imm);
        qb[k] = (re - rm) * (re - rm) + (im + imm) * (im + imm);
    }
    float a[8] = {0}, b[8] = {0};
    for (int k = 0; k < FRAME / 2; k += 8)
        for (int l = 0; l < 8; l++) {
            a[l] += qa[k + l];
            b[l] += qb[k + l];
        }
    *pa = 0.25f * (((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])));
    *pb = 0.25f * (((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7])));
}

/* ---- the pipelines ------------------------------------------------------------------------ */

typedef struct {
    sos_coeffs hp;
    float win[FRAME];
    float threshold; /* linear power ratio */
    fftwf_plan plan;
    fftwf_complex *in, *out;
    float *rin;      /* real mode input */
    fftwf_plan rplan; /* real mode plan, out to `out` */
} setup;

typedef struct {
    size_t frames, detections;
    double power_sum; /* observable result */
} tally;

/* One complex I/Q stream; dump receives forward, reverse, detection per frame. (Every run
 * writes it: a null test here let gcc unswitch the loop into two versions whose float
 * contraction differed, and one borderline frame flipped.) */
__attribute__((noinline)) static tally run_iq(const setup *restrict st, const float *restrict iq,
                                              size_t n, float *restrict dump)
{
    static float buf[2 * (FRAME - HOP + CHUNK)] __attribute__((aligned(64)));
    float s1[NSEC][2] = {{0}}, s2[NSEC][2] = {{0}};
    running_median med_fwd = {0}, med_rev = {0};
    tally t = {0, 0, 0.0};
    size_t have = 0; /* filtered samples in buf */
    /* Per-frame output of one chunk (forward, reverse, detection), what a next stage reads.
     * Always written, so the timed and the dumping runs execute the same arithmetic. */
    float frame_out[3 * (CHUNK / HOP + 1)];
    for (size_t pos = 0; pos < n;) {
        size_t first = t.frames;
        size_t take = n - pos < CHUNK ? n - pos : CHUNK;
        highpass_iq(&st->hp, s1, s2, iq + 2 * pos, buf + 2 * have, take);
        have += take;
        pos += take;
        size_t start = 0;
        float *in = (float *)st->in;
        for (; start + FRAME <= have; start += HOP) {
            const float *x = buf + 2 * start;
            for (int k = 0; k < FRAME; k++) {
                in[2 * k] = st->win[k] * x[2 * k];
                in[2 * k + 1] = st->win[k] * x[2 * k + 1];
            }
            fftwf_execute(st->plan);
            float fwd, rev;
            band_powers(st->out, &fwd, &rev);
            float mf = median_push(&med_fwd, fwd), mr = median_push(&med_rev, rev);
            int det = (fwd > st->threshold * mf) | (rev > st->threshold * mr);
            t.detections += (size_t)det;
            t.power_sum += fwd;
            size_t f = t.frames - first;
            frame_out[3 * f] = fwd;
            frame_out[3 * f + 1] = rev;
            frame_out[3 * f + 2] = (float)det;
            t.frames++;
        }
        memcpy(dump + 3 * first, frame_out, sizeof(float) * 3 * (t.frames - first));
        /* Keep the samples the next frame still needs. */
        memmove(buf, buf + 2 * start, sizeof(float) * 2 * (have - start));
        have -= start;
    }
    return t;
}

/* The tail of the real pipeline for one frame's band power p. */
static inline void real_frame(const setup *restrict st, running_median *med, tally *t,
                              float *restrict frame_out, size_t f, float p)
{
    float m = median_push(med, p);
    int det = p > st->threshold * m;
    t->detections += (size_t)det;
    t->power_sum += p;
    frame_out[2 * f] = p;
    frame_out[2 * f + 1] = (float)det;
    t->frames++;
}

/* One real channel, the I component of the trace, two frames per complex FFT (above). dump
 * receives power and detection per frame. */
__attribute__((noinline)) static tally run_real(const setup *restrict st, const float *restrict iq,
                                                size_t n, float *restrict dump)
{
    static float buf[FRAME - HOP + CHUNK] __attribute__((aligned(64)));
    float s1[NSEC] = {0}, s2[NSEC] = {0};
    running_median med = {0};
    tally t = {0, 0, 0.0};
    size_t have = 0;
    float frame_out[2 * (CHUNK / HOP + 1)];
    float *in = (float *)st->in;
    for (size_t pos = 0; pos < n;) {
        size_t first = t.frames;
        size_t take = n - pos < CHUNK ? n - pos : CHUNK;
        highpass_real(&st->hp, s1, s2, iq + 2 * pos, 2, buf + have, take);
        have += take;
        pos += take;
        size_t start = 0;
        while (start + FRAME <= have) {
            const float *x = buf + start;
            float pa, pb;
            if (start + HOP + FRAME <= have) {
                for (int k = 0; k < FRAME; k++) {
                    in[2 * k] = st->win[k] * x[k];
                    in[2 * k + 1] = st->win[k] * x[k + HOP];
                }
                fftwf_execute(st->plan);
                band_power_pair(st->out, &pa, &pb);
                real_frame(st, &med, &t, frame_out, t.frames - first, pa);
                real_frame(st, &med, &t, frame_out, t.frames - first, pb);
                start += 2 * HOP;
            } else { /* a last frame without a partner: the imaginary half stays zero */
                for (int k = 0; k < FRAME; k++) {
                    in[2 * k] = st->win[k] * x[k];
                    in[2 * k + 1] = 0.0f;
                }
                fftwf_execute(st->plan);
                band_power_pair(st->out, &pa, &pb);
                real_frame(st, &med, &t, frame_out, t.frames - first, pa);
                start += HOP;
            }
        }
        memcpy(dump + 2 * first, frame_out, sizeof(float) * 2 * (t.frames - first));
        memmove(buf, buf + start, sizeof(float) * (have - start));
        have -= start;
    }
    return t;
}

/* The same with FFTW's own real transform (fftwf r2c), one per frame: the obvious way. */
__attribute__((noinline)) static tally run_real_r2c(const setup *restrict st,
                                                    const float *restrict iq, size_t n,
                                                    float *restrict dump)
{
    static float buf[FRAME - HOP + CHUNK] __attribute__((aligned(64)));
    float s1[NSEC] = {0}, s2[NSEC] = {0};
    running_median med = {0};
    tally t = {0, 0, 0.0};
    size_t have = 0;
    float frame_out[2 * (CHUNK / HOP + 1)];
    for (size_t pos = 0; pos < n;) {
        size_t first = t.frames;
        size_t take = n - pos < CHUNK ? n - pos : CHUNK;
        highpass_real(&st->hp, s1, s2, iq + 2 * pos, 2, buf + have, take);
        have += take;
        pos += take;
        size_t start = 0;
        for (; start + FRAME <= have; start += HOP) {
            const float *x = buf + start;
            for (int k = 0; k < FRAME; k++)
                st->rin[k] = st->win[k] * x[k];
            fftwf_execute(st->rplan);
            real_frame(st, &med, &t, frame_out, t.frames - first, band_power_real(st->out));
        }
        memcpy(dump + 2 * first, frame_out, sizeof(float) * 2 * (t.frames - first));
        memmove(buf, buf + start, sizeof(float) * (have - start));
        have -= start;
    }
    return t;
}

int main(int argc, char **argv)
{
    if (argc != 7)
        die("usage: pipeline TRACE.f32 SOS_HP.txt RESULTS.jsonl VERIFY_DIR REPS THRESHOLD_DB",
            NULL);
    const char *results = argv[3], *vdir = argv[4];
    int reps = atoi(argv[5]);
    setup st;
    float sos[NSEC][5];
    if (read_sos(argv[2], sos, NSEC) != NSEC)
        die("need exactly 2 sections in", argv[2]);
    for (int k = 0; k < NSEC; k++) {
        st.hp.b0[k] = sos[k][0];
        st.hp.b1[k] = sos[k][1];
        st.hp.b2[k] = sos[k][2];
        st.hp.a1[k] = sos[k][3];
        st.hp.a2[k] = sos[k][4];
    }
    st.threshold = powf(10.0f, (float)atof(argv[6]) / 10.0f);
    for (int k = 0; k < FRAME; k++)
        st.win[k] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * k / FRAME));
    st.in = fftwf_alloc_complex(FRAME);
    st.out = fftwf_alloc_complex(FRAME);
    st.rin = fftwf_alloc_real(FRAME);
    st.plan = fftwf_plan_dft_1d(FRAME, st.in, st.out, FFTW_FORWARD, FFTW_MEASURE);
    st.rplan = fftwf_plan_dft_r2c_1d(FRAME, st.rin, st.out, FFTW_MEASURE);

    size_t nf;
    float *iq = read_f32(argv[1], &nf);
    size_t n = nf / 2;

    /* Untimed runs that write what verify.py compares; the timed runs must repeat them. */
    size_t expect = n < FRAME ? 0 : (n - FRAME) / HOP + 1;
    float *dump = malloc(sizeof(float) * 3 * (expect + 1));
    float *dump_real = malloc(sizeof(float) * 2 * (expect + 1));
    float *dump_r2c = malloc(sizeof(float) * 2 * (expect + 1));
    if (!dump || !dump_real || !dump_r2c)
        die("out of memory", NULL);
    tally ref = run_iq(&st, iq, n, dump);
    tally ref_real = run_real(&st, iq, n, dump_real);
    tally ref_r2c = run_real_r2c(&st, iq, n, dump_r2c);
    char path[4096];
    snprintf(path, sizeof path, "%s/pipeline_c.f32", vdir);
    write_f32(path, dump, 3 * ref.frames);
    snprintf(path, sizeof path, "%s/pipeline_c_real.f32", vdir);
    write_f32(path, dump_real, 2 * ref_real.frames);
    snprintf(path, sizeof path, "%s/pipeline_c_real_r2c.f32", vdir);
    write_f32(path, dump_r2c, 2 * ref_r2c.frames);

    best_time best_iq = BEST_INIT, best_real = BEST_INIT, best_r2c = BEST_INIT;
    for (int r = -1; r < reps; r++) {
        stamp t0 = stamp_now();
        tally ti = run_iq(&st, iq, n, dump);
        stamp t1 = stamp_now();
        tally tr = run_real(&st, iq, n, dump_real);
        stamp t2 = stamp_now();
        tally tc = run_real_r2c(&st, iq, n, dump_r2c);
        stamp t3 = stamp_now();
        if (ti.detections != ref.detections || tr.detections != ref_real.detections ||
            tc.detections != ref_r2c.detections)
            die("a pipeline run differs from the first one", NULL);
        if (r >= 0) {
            best_update(&best_iq, t0, t1);
            best_update(&best_real, t1, t2);
            best_update(&best_r2c, t2, t3);
        }
    }

    char extra[160];
    snprintf(extra, sizeof extra, "\"frames\": %zu, \"detections\": %zu", ref.frames,
             ref.detections);
    put_result(results, "c_fftw_pipeline", "C + FFTW pipeline",
               "HP4 on I,Q; STFT 128/32 c2c; fwd/rev power; median 256; detect", (double)n,
               (double)ref.frames, 1, best_iq, extra);
    snprintf(extra, sizeof extra, "\"frames\": %zu, \"detections\": %zu", ref_real.frames,
             ref_real.detections);
    put_result(results, "c_fftw_pipeline_real", "C + FFTW pipeline, real",
               "1 real ch (I): HP4; 2 frames per c2c 128; 1 band; median 256", (double)n,
               (double)ref_real.frames, 1, best_real, extra);
    snprintf(extra, sizeof extra, "\"frames\": %zu, \"detections\": %zu", ref_r2c.frames,
             ref_r2c.detections);
    put_result(results, "c_fftw_pipeline_real_r2c", "C + FFTW pipeline, real, r2c",
               "the same with one fftwf r2c per frame", (double)n, (double)ref_r2c.frames, 1,
               best_r2c, extra);
    printf("  complex: %zu frames, %zu detections; real: %zu frames, %zu detections\n",
           ref.frames, ref.detections, ref_real.frames, ref_real.detections);
    fftwf_destroy_plan(st.plan);
    fftwf_destroy_plan(st.rplan);
    fftwf_free(st.in);
    fftwf_free(st.out);
    fftwf_free(st.rin);
    free(dump);
    free(dump_real);
    free(dump_r2c);
    free(iq);
    return 0;
}
