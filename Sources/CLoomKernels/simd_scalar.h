// One-lane "vectors" for the portable table: the same kernel bodies compile to
// plain C (the compiler may still auto-vectorize the simple loops).
#include <math.h>
#define VW 1
typedef float vf;
typedef int vmask;
static inline vf vset(float x) { return x; }
static inline vf vld(const float *p) { return *p; }
static inline void vst(float *p, vf v) { *p = v; }
static inline vf ldnf(const float *p, int64_t r, float fill) { (void)r; (void)fill; return *p; }
static inline vf ldn(const float *p, int64_t r) { (void)r; return *p; }
static inline void stn(float *p, vf v, int64_t r) { (void)r; *p = v; }
static inline vf vfma(vf a, vf b, vf c) { return a * b + c; }
static inline vf vmax(vf a, vf b) { return a > b ? a : b; }  // b when unordered
static inline vf vmin(vf a, vf b) { return a < b ? a : b; }
static inline vf vsqrt(vf a) { return sqrtf(a); }
static inline vf vabs(vf a) { return fabsf(a); }
static inline vmask vgt(vf a, vf b) { return a > b; }
static inline vmask vunord(vf a, vf b) { return isnan(a) || isnan(b); }
static inline vmask vmor(vmask a, vmask b) { return a | b; }
static inline int vmany(vmask m) { return m != 0; }
static inline vmask vmnone(void) { return 0; }
static inline vf vsel(vmask m, vf t, vf f) { return m ? t : f; }
static inline float vhsum(vf v) { return v; }
static inline float vhmax(vf v) { return v; }
static inline vf vexp(vf x) { return expf(x); }
static inline vf vlog(vf x) { return logf(x); }
static inline vf vtanh(vf x) { return tanhf(x); }
static inline vf verf(vf x) { return erff(x); }
static inline vf vsin(vf x) { return sinf(x); }
static inline vf vcos(vf x) { return cosf(x); }
static inline vf vpow(vf x, vf y) { return powf(x, y); }
// GELU backward shares exp(-x^2/2) with erf on the vector paths; plain erf here.
static inline vf verf_ex2(vf x, vf ex2) { (void)ex2; return erff(x); }
