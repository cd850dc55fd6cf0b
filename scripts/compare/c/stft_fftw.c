/*
 * STFT baseline: periodic Hann window, complex input, FFTW single precision
 * (fftwf_plan_dft_1d, FFTW_MEASURE, planned once per frame size), frame 128 hop 32 and frame
 * 256 hop 64. Streaming style: each frame is windowed into one aligned input buffer and
 * transformed into one output buffer that the next stage would consume; nothing is kept.
 *
 * usage: stft_fftw TRACE.f32 RESULTS.jsonl VERIFY_DIR REPS
 * Writes VERIFY_DIR/stft<N>_frames.f32: frames 0, 1, 1000 and the last one, complex
 * interleaved, for verify.py to compare with numpy's FFT.
 */
#include <complex.h>
#include <fftw3.h>
#include <math.h>

#include "common.h"

/* Checksum of one bin per frame, so the transforms have an observable result. */
static float g_sink;

__attribute__((noinline)) static size_t stft_run(const float *restrict iq, size_t n, int frame,
                                                 int hop, const float *restrict win,
                                                 fftwf_plan plan, fftwf_complex *restrict in,
                                                 fftwf_complex *restrict out)
{
    size_t frames = n < (size_t)frame ? 0 : (n - frame) / hop + 1;
    float sink = 0.0f;
    for (size_t j = 0; j < frames; j++) {
        const float *x = iq + 2 * j * hop;
        float *inf = (float *)in;
        for (int k = 0; k < frame; k++) {
            inf[2 * k] = win[k] * x[2 * k];
            inf[2 * k + 1] = win[k] * x[2 * k + 1];
        }
        fftwf_execute_dft(plan, in, out);
        sink += crealf(out[frame / 8]);
    }
    g_sink += sink;
    return frames;
}

int main(int argc, char **argv)
{
    if (argc != 5)
        die("usage: stft_fftw TRACE.f32 RESULTS.jsonl VERIFY_DIR REPS", NULL);
    const char *results = argv[2], *vdir = argv[3];
    int reps = atoi(argv[4]);
    size_t nf;
    float *iq = read_f32(argv[1], &nf);
    size_t n = nf / 2;
    static const int sizes[2][2] = {{128, 32}, {256, 64}};

    for (int s = 0; s < 2; s++) {
        int frame = sizes[s][0], hop = sizes[s][1];
        fftwf_complex *in = fftwf_alloc_complex(frame), *out = fftwf_alloc_complex(frame);
        float *win = fftwf_alloc_real(frame);
        for (int k = 0; k < frame; k++)
            win[k] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * k / frame));
        fftwf_plan plan = fftwf_plan_dft_1d(frame, in, out, FFTW_FORWARD, FFTW_MEASURE);

        best_time best = BEST_INIT;
        size_t frames = 0;
        for (int r = -1; r < reps; r++) {
            stamp t0 = stamp_now();
            frames = stft_run(iq, n, frame, hop, win, plan, in, out);
            stamp t1 = stamp_now();
            if (r >= 0)
                best_update(&best, t0, t1);
        }

        /* A few frames for verify.py. */
        size_t pick[4] = {0, 1, 1000 < frames ? 1000 : frames / 2, frames - 1};
        float *dump = malloc(sizeof(float) * 2 * frame * 4);
        for (int p = 0; p < 4; p++) {
            stft_run(iq + 2 * pick[p] * hop, (size_t)frame, frame, hop, win, plan, in, out);
            memcpy(dump + 2 * frame * p, out, sizeof(float) * 2 * frame);
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/stft%d_frames.f32", vdir, frame);
        write_f32(path, dump, (size_t)2 * frame * 4);

        char key[64], name[64], what[160], extra[128];
        snprintf(key, sizeof key, "c_fftw_stft%d", frame);
        snprintf(name, sizeof name, "C + FFTW STFT %d", frame);
        snprintf(what, sizeof what, "Hann, frame %d hop %d, complex, fftwf MEASURE, streaming",
                 frame, hop);
        snprintf(extra, sizeof extra, "\"frame\": %d, \"hop\": %d, \"frames\": %zu", frame, hop,
                 frames);
        /* Samples/s counts input samples consumed: frames/s times the hop. */
        put_result(results, key, name, what, (double)frames * hop, (double)frames, 1, best,
                   extra);
        free(dump);
        fftwf_destroy_plan(plan);
        fftwf_free(in);
        fftwf_free(out);
        fftwf_free(win);
    }
    free(iq);
    return g_sink == 12345.0f; /* never: keeps the sink alive */
}
