/* Peak fp32 FMA rate against peak AVX-512-BF16 dot-product rate of this CPU, per core and on all cores.

Why: the target "bf16 autocast >= 2x our fp32" was set on a CPU whose bf16 GEMMs ran at 4.3x
fp32. Where the bf16 unit itself is only 2x the fp32 FMA units (Zen 4 runs 512-bit instructions on
256-bit halves), no training step can reach 2x, because the casts, LayerNorm, softmax and optimizer
around the GEMMs do not speed up by as much. This measures that ceiling directly: twelve independent
accumulators per thread, so the loop is bound by issue throughput, not by latency.

    gcc -O2 -mavx512f -mavx512bf16 -fopenmp bench/cpu_peak_flops.c -o /tmp/cpu_peak_flops && /tmp/cpu_peak_flops

Needs AVX-512F and AVX-512-BF16 (the `avx512_bf16` flag in /proc/cpuinfo); elsewhere it dies of SIGILL.
FLOPs counted: vfmadd231ps zmm = 16 lanes x 2; vdpbf16ps zmm = 16 lanes x 2 products x 2.
*/
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <time.h>

#define ACCUMULATORS 12
#define ITERATIONS (200000000L / ACCUMULATORS)
#define REPEATS 3

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float fp32_fma_loop(long n) {
    __m512 acc[ACCUMULATORS];
    const __m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
    for (int i = 0; i < ACCUMULATORS; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long k = 0; k < n; k++) {
#pragma GCC unroll 12
        for (int i = 0; i < ACCUMULATORS; i++) acc[i] = _mm512_fmadd_ps(x, y, acc[i]);
    }
    __m512 sum = acc[0];
    for (int i = 1; i < ACCUMULATORS; i++) sum = _mm512_add_ps(sum, acc[i]);
    return _mm512_reduce_add_ps(sum);
}

static float bf16_dot_loop(long n) {
    __m512 acc[ACCUMULATORS];
    const __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80), y = (__m512bh)_mm512_set1_epi16(0x3f80); /* 1.0 */
    for (int i = 0; i < ACCUMULATORS; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long k = 0; k < n; k++) {
#pragma GCC unroll 12
        for (int i = 0; i < ACCUMULATORS; i++) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
    }
    __m512 sum = acc[0];
    for (int i = 1; i < ACCUMULATORS; i++) sum = _mm512_add_ps(sum, acc[i]);
    return _mm512_reduce_add_ps(sum);
}

int main(void) {
    float sink = 0.0f; /* keeps the loops from being optimised away */
    for (int threads = 1; threads <= omp_get_num_procs(); threads++) {
        for (int repeat = 0; repeat < REPEATS; repeat++) {
            double t0 = seconds_now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
            sink += fp32_fma_loop(ITERATIONS);
            double t1 = seconds_now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
            sink += bf16_dot_loop(ITERATIONS);
            double t2 = seconds_now();
            double instructions = (double)ITERATIONS * ACCUMULATORS * threads;
            double fp32 = instructions * 32 / (t1 - t0) / 1e9, bf16 = instructions * 64 / (t2 - t1) / 1e9;
            printf("threads %d: fp32 FMA %.1f GFLOP/s, bf16 dot %.1f GFLOP/s, bf16 / fp32 %.2f\n", threads, fp32,
                   bf16, bf16 / fp32);
        }
    }
    fprintf(stderr, "(checksum %g)\n", sink);
    return 0;
}
