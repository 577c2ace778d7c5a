/* Native twins of calls.wat and callbacks.wat, for the benchmark's C-via-ctypes
   column (built with kernels.c into one shared library). A callbacks.wat export
   takes the host function it calls as its first argument here. */
#include <stdint.h>

void nop(void) {}
int32_t add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
int64_t add_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
float add_f32(float a, float b) { return a + b; }
double add_f64(double a, double b) { return a + b; }
int32_t sum8_i32(int32_t a, int32_t b, int32_t c, int32_t d,
                 int32_t e, int32_t f, int32_t g, int32_t h) {
    return (int32_t)((uint32_t)a + (uint32_t)b + (uint32_t)c + (uint32_t)d
                     + (uint32_t)e + (uint32_t)f + (uint32_t)g + (uint32_t)h);
}
int32_t call_add(int32_t (*host_add)(int32_t, int32_t), int32_t n) {
    int32_t acc = 0;
    for (int32_t i = 0; i < n; i++) acc = host_add(acc, 1);
    return acc;
}
void call_nop(void (*host_nop)(void), int32_t n) {
    for (int32_t i = 0; i < n; i++) host_nop();
}
