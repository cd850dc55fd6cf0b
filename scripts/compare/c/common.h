/* Shared helpers of the C baselines: clock, file reading, result lines. */
#ifndef COMPARE_COMMON_H
#define COMPARE_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RATE_HZ 16000.0

/* Every run is timed on two clocks. The machine is shared: wall time counts the moments
 * another process held the core, the process's CPU time does not. The table uses CPU time;
 * on an idle machine the two agree (results keep both). */
typedef struct {
    double wall, cpu;
} stamp;

static stamp stamp_now(void)
{
    struct timespec w, c;
    clock_gettime(CLOCK_MONOTONIC, &w);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    return (stamp){(double)w.tv_sec + 1e-9 * (double)w.tv_nsec,
                   (double)c.tv_sec + 1e-9 * (double)c.tv_nsec};
}

/* The fastest run so far on each clock. */
typedef struct {
    double wall, cpu;
} best_time;

#define BEST_INIT ((best_time){1e30, 1e30})

static inline void best_update(best_time *b, stamp t0, stamp t1)
{
    if (t1.wall - t0.wall < b->wall)
        b->wall = t1.wall - t0.wall;
    if (t1.cpu - t0.cpu < b->cpu)
        b->cpu = t1.cpu - t0.cpu;
}

static void die(const char *what, const char *arg)
{
    fprintf(stderr, "error: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    exit(1);
}

/* Reads a whole raw little-endian float32 file; *count is the number of floats. */
static float *read_f32(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open", path);
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (bytes <= 0 || bytes % 4)
        die("not a float32 file", path);
    float *data = aligned_alloc(64, ((size_t)bytes + 63) / 64 * 64);
    if (!data || fread(data, 1, (size_t)bytes, f) != (size_t)bytes)
        die("cannot read", path);
    fclose(f);
    *count = (size_t)bytes / 4;
    return data;
}

static inline void write_f32(const char *path, const float *data, size_t count)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 4, count, f) != count)
        die("cannot write", path);
    fclose(f);
}

/* Reads second-order sections as scipy writes them: one "b0 b1 b2 a0 a1 a2" line each. */
static inline int read_sos(const char *path, float sos[][5], int max_sections)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open", path);
    int n = 0;
    double b0, b1, b2, a0, a1, a2;
    while (n < max_sections &&
           fscanf(f, "%lf %lf %lf %lf %lf %lf", &b0, &b1, &b2, &a0, &a1, &a2) == 6) {
        sos[n][0] = (float)(b0 / a0);
        sos[n][1] = (float)(b1 / a0);
        sos[n][2] = (float)(b2 / a0);
        sos[n][3] = (float)(a1 / a0);
        sos[n][4] = (float)(a2 / a0);
        n++;
    }
    fclose(f);
    return n;
}

/* Appends one result as a JSON line; run.sh's report.py turns these into the table. samples and
 * frames are the work of one run; rates are per second of the best CPU time (and of the best
 * wall time in the _wall fields). */
static inline void put_result(const char *path, const char *key, const char *name,
                              const char *what, double samples, double frames, int channels,
                              best_time best, const char *extra_json)
{
    FILE *f = fopen(path, "a");
    if (!f)
        die("cannot append to", path);
    fprintf(f,
            "{\"key\": \"%s\", \"name\": \"%s\", \"what\": \"%s\", "
            "\"samples_per_s\": %.6e, \"frames_per_s\": %.6e, \"channels\": %d, "
            "\"best_cpu_s\": %.6f, \"samples_per_s_wall\": %.6e, \"best_wall_s\": %.6f%s%s}\n",
            key, name, what, samples / best.cpu, frames / best.cpu, channels, best.cpu,
            samples / best.wall, best.wall, extra_json ? ", " : "", extra_json ? extra_json : "");
    fclose(f);
    printf("  %-26s %12.4g samples/s  %8.0fx real time  (best %.4f s CPU, %.4f s wall)\n", key,
           samples / best.cpu, samples / best.cpu / channels / RATE_HZ, best.cpu, best.wall);
}

#endif
