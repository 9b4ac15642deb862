// Depthwise k×k convolution for CPU training: stride 1, "same" padding, fp32, channels-last.
//
// Spatial mixing (SpatialConv) in ConvMixers and the un-shuffler. Tensors are NHWC in memory, so
// the 16 channels of one vector sit side by side and a filter tap is one vector multiply-add.
// Each tile keeps NW output pixels × 16 channels in registers over all k² taps, and the NW
// inputs under it slide through registers one pixel per tap: per tap one weight load and one
// input load feed NW multiply-adds (NW input loads before: 1.15-1.35× slower, same sums in the
// same order, so the results are bitwise equal), so the loop runs near the FMA units' rate.
// A row's tail (W not a multiple of NW: 28-wide MNIST rows) runs in tiles of 4, 2 and 1 pixels
// rather than pixel by pixel. The input gradient is the same kernel on the output gradient
// with the filters flipped; the weight gradient reduces over the batch in per-thread buffers.
//
// Ops (spatialmix_native::): dw_forward(x, w, bias?, pad_before), dw_input_grad(g, w,
// pad_before), dw_weight_grad(x, g, k, pad_before). x, g: (N, C, H, W) any layout (made
// channels-last); w: (C, 1, k, k). Outputs are channels-last (N, C, H, W) tensors and a
// (C, 1, k, k) weight gradient. "same": pad_before = (k - 1) / 2, pad_after = k - 1 - pad_before.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

#if defined(__AVX512F__)
constexpr int64_t VL = 16;  // floats per vector: one AVX-512 register
constexpr int NW = 8;       // output pixels per tile: 8 accumulators of 32 registers
#else
// One AVX2 register. A 16-float vector has no machine mode without AVX-512, so GCC kept it in
// memory: 8 GFLOP/s forward, 0.2x PyTorch's kernel, on an AMD EPYC (AVX2, 2026-12-02).
constexpr int64_t VL = 8;
constexpr int NW = 6;  // 6 accumulators + 6 inputs + 1 weight of 16 registers
#endif

typedef float vf __attribute__((vector_size(VL * sizeof(float)), aligned(4), may_alias));

inline vf load(const float* p) { return *reinterpret_cast<const vf*>(p); }
inline void store(float* p, vf v) { *reinterpret_cast<vf*>(p) = v; }

// (N, C, H, W) tensor -> contiguous NHWC (no copy when it is channels-last already)
at::Tensor nhwc(const at::Tensor& x) { return x.permute({0, 2, 3, 1}).contiguous(); }

// (C, 1, k, k) -> contiguous (k, k, C); flipped in both spatial axes for the input gradient
at::Tensor taps(const at::Tensor& w, bool flip) {
  auto t = w.reshape({w.size(0), w.size(2), w.size(3)}).permute({1, 2, 0});
  return (flip ? t.flip({0, 1}) : t).contiguous();
}

// The k input rows one output row reads, each zero-padded left and right, in a per-thread ring
// of k + 1 buffers (the last one all zeros, for rows above and below the image). Consecutive
// output rows reuse k - 1 of them, so every input row is copied once per image into memory that
// stays in cache, instead of padding the whole tensor in memory.
class PaddedRows {
 public:
  PaddedRows(const float* x, int64_t H, int64_t W, int64_t C, int64_t k, int64_t before)
      : x_(x), H_(H), W_(W), C_(C), k_(k), before_(before), stride_(((W + k - 1) * C + 15) / 16 * 16),
        buf_(static_cast<float*>(std::aligned_alloc(64, (k + 1) * stride_ * sizeof(float)))),
        tag_(k, -1) {
    TORCH_CHECK(buf_ != nullptr, "depthwise: out of memory");
    std::memset(buf_, 0, (k + 1) * stride_ * sizeof(float));
  }
  ~PaddedRows() { std::free(buf_); }
  PaddedRows(const PaddedRows&) = delete;
  PaddedRows& operator=(const PaddedRows&) = delete;

  // pointers to the k padded rows under output row h of image n
  void window(int64_t n, int64_t h, const float** rows) {
    for (int64_t i = 0; i < k_; ++i) rows[i] = row(n, h + i - before_);
  }

 private:
  const float* row(int64_t n, int64_t hh) {
    if (hh < 0 || hh >= H_) return buf_ + k_ * stride_;  // the zero buffer
    int64_t slot = hh % k_, tag = n * H_ + hh;
    float* dst = buf_ + slot * stride_;
    if (tag_[slot] != tag) {
      std::memcpy(dst + before_ * C_, x_ + tag * W_ * C_, W_ * C_ * sizeof(float));
      tag_[slot] = tag;
    }
    return dst;
  }
  const float* x_;
  int64_t H_, W_, C_, k_, before_, stride_;
  float* buf_;
  std::vector<int64_t> tag_;
};

// out[o, :16] = bias + sum_{i,j} rows[i][o + j, :16] * w[i, j, :16] for o < W_TILE. The W_TILE
// inputs under the tile sit in registers and slide one pixel per tap: each tap loads one new
// input and one weight for W_TILE multiply-adds.
template <int W_TILE>
inline void conv_tile(const float* const* rows, int64_t off, int64_t C, const float* w, int64_t k,
                      const float* bias, float* out) {
  vf acc[W_TILE];
  vf b = bias ? load(bias) : vf{};
#pragma GCC unroll 8
  for (int o = 0; o < W_TILE; ++o) acc[o] = b;
  for (int64_t i = 0; i < k; ++i) {
    const float* xr = rows[i] + off;
    const float* wr = w + i * k * C;
    vf win[W_TILE];
#pragma GCC unroll 8
    for (int o = 0; o < W_TILE; ++o) win[o] = load(xr + o * C);
    for (int64_t j = 0;; ++j) {
      vf wv = load(wr + j * C);
#pragma GCC unroll 8
      for (int o = 0; o < W_TILE; ++o) acc[o] += win[o] * wv;
      if (j + 1 == k) break;
#pragma GCC unroll 8
      for (int o = 0; o + 1 < W_TILE; ++o) win[o] = win[o + 1];
      win[W_TILE - 1] = load(xr + (W_TILE + j) * C);
    }
  }
#pragma GCC unroll 8
  for (int o = 0; o < W_TILE; ++o) store(out + o * C, acc[o]);
}

// the channels beyond the last full vector, one at a time (only odd widths reach this)
inline void conv_scalar(const float* const* rows, int64_t C, const float* w, int64_t k,
                        const float* bias, float* out, int64_t W, int64_t c_from) {
  for (int64_t o = 0; o < W; ++o)
    for (int64_t c = c_from; c < C; ++c) {
      float acc = bias ? bias[c] : 0.f;
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j) acc += rows[i][(o + j) * C + c] * w[(i * k + j) * C + c];
      out[o * C + c] = acc;
    }
}

// one output row: every full vector of channels in tiles of NW pixels, then the odd channels
void conv_row(const float* const* rows, int64_t C, const float* w, int64_t k, const float* bias,
              float* out, int64_t W) {
  int64_t c_vec = C - C % VL;
  for (int64_t c0 = 0; c0 < c_vec; c0 += VL) {
    const float* bc = bias ? bias + c0 : nullptr;
    int64_t w0 = 0;
    for (; w0 + NW <= W; w0 += NW)
      conv_tile<NW>(rows, w0 * C + c0, C, w + c0, k, bc, out + w0 * C + c0);
    if (NW > 4 && w0 + 4 <= W) {  // the row's tail in tiles of 4, 2, 1: the same sums per pixel
      conv_tile<4>(rows, w0 * C + c0, C, w + c0, k, bc, out + w0 * C + c0);
      w0 += 4;
    }
    if (w0 + 2 <= W) {
      conv_tile<2>(rows, w0 * C + c0, C, w + c0, k, bc, out + w0 * C + c0);
      w0 += 2;
    }
    for (; w0 < W; ++w0) conv_tile<1>(rows, w0 * C + c0, C, w + c0, k, bc, out + w0 * C + c0);
  }
  if (c_vec < C) conv_scalar(rows, C, w, k, bias, out, W, c_vec);
}

// y[n, h, w, c] = bias[c] + sum_{i,j} x[n, h + i - before, w + j - before, c] * taps[i, j, c]
at::Tensor correlate(const at::Tensor& x, const at::Tensor& t, const float* bias, int64_t before) {
  int64_t N = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3), k = t.size(0);
  auto out = at::empty({N, H, W, C}, x.options());
  const float* xs = x.data_ptr<float>();
  const float* ts = t.data_ptr<float>();
  float* y = out.data_ptr<float>();
  at::parallel_for(0, N * H, 1, [&](int64_t begin, int64_t end) {
    PaddedRows ring(xs, H, W, C, k, before);
    std::vector<const float*> rows(k);
    for (int64_t r = begin; r < end; ++r) {
      ring.window(r / H, r % H, rows.data());
      conv_row(rows.data(), C, ts, k, bias, y + r * W * C, W);
    }
  });
  return out.permute({0, 3, 1, 2});
}

void check(const at::Tensor& x, const at::Tensor& w) {
  TORCH_CHECK(x.device().is_cpu() && x.scalar_type() == at::kFloat && x.dim() == 4,
              "dw: x must be a 4-d float32 CPU tensor");
  TORCH_CHECK(w.scalar_type() == at::kFloat && w.dim() == 4 && w.size(1) == 1 &&
                  w.size(0) == x.size(1) && w.size(2) == w.size(3),
              "dw: w must be float32 (C, 1, k, k) with C = x.size(1)");
}

at::Tensor dw_forward(const at::Tensor& x, const at::Tensor& w,
                      const c10::optional<at::Tensor>& bias, int64_t pad_before) {
  check(x, w);
  at::Tensor b = bias.has_value() ? bias->contiguous() : at::Tensor();
  return correlate(nhwc(x), taps(w, false), b.defined() ? b.data_ptr<float>() : nullptr,
                   pad_before);
}

at::Tensor dw_input_grad(const at::Tensor& g, const at::Tensor& w, int64_t pad_before) {
  check(g, w);
  return correlate(nhwc(g), taps(w, true), nullptr, w.size(2) - 1 - pad_before);
}

// dw[i, j, :16] += sum_{o < W_TILE} g[o, :16] * rows[i][o + j, :16], the inputs sliding through
// registers as in conv_tile
template <int W_TILE>
inline void wgrad_tile(const float* const* rows, int64_t off, int64_t C, const float* g,
                       int64_t k, float* dw) {
  vf gv[W_TILE];
#pragma GCC unroll 8
  for (int o = 0; o < W_TILE; ++o) gv[o] = load(g + o * C);
  for (int64_t i = 0; i < k; ++i) {
    const float* xr = rows[i] + off;
    float* dr = dw + i * k * C;
    vf win[W_TILE];
#pragma GCC unroll 8
    for (int o = 0; o < W_TILE; ++o) win[o] = load(xr + o * C);
    for (int64_t j = 0;; ++j) {
      vf a = vf{}, b = vf{};  // two chains: the adds of one tap overlap
#pragma GCC unroll 8
      for (int o = 0; o + 1 < W_TILE; o += 2) {
        a += gv[o] * win[o];
        b += gv[o + 1] * win[o + 1];
      }
      if (W_TILE % 2) a += gv[W_TILE - 1] * win[W_TILE - 1];
      store(dr + j * C, load(dr + j * C) + a + b);
      if (j + 1 == k) break;
#pragma GCC unroll 8
      for (int o = 0; o + 1 < W_TILE; ++o) win[o] = win[o + 1];
      win[W_TILE - 1] = load(xr + (W_TILE + j) * C);
    }
  }
}

at::Tensor dw_weight_grad(const at::Tensor& x_in, const at::Tensor& g_in, int64_t k,
                          int64_t pad_before) {
  TORCH_CHECK(x_in.sizes() == g_in.sizes(), "dw_weight_grad: x and g differ in shape");
  auto x = nhwc(x_in), g = nhwc(g_in);
  int64_t N = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3), c_vec = C - C % VL;
  int64_t parts = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), N));
  auto partial = at::zeros({parts, k, k, C}, x.options());
  const float* xs = x.data_ptr<float>();
  const float* gs = g.data_ptr<float>();
  float* ps = partial.data_ptr<float>();
  at::parallel_for(0, parts, 1, [&](int64_t begin, int64_t end) {
    PaddedRows ring(xs, H, W, C, k, pad_before);
    std::vector<const float*> rows(k);
    for (int64_t p = begin; p < end; ++p) {
      float* dw = ps + p * k * k * C;
      for (int64_t n = p * N / parts; n < (p + 1) * N / parts; ++n)
        for (int64_t h = 0; h < H; ++h) {
          ring.window(n, h, rows.data());
          const float* gr = gs + (n * H + h) * W * C;
          for (int64_t c0 = 0; c0 < c_vec; c0 += VL) {
            int64_t w0 = 0;
            for (; w0 + NW <= W; w0 += NW)
              wgrad_tile<NW>(rows.data(), w0 * C + c0, C, gr + w0 * C + c0, k, dw + c0);
            if (NW > 4 && w0 + 4 <= W) {  // a tail of 4 or more pixels (28-wide rows) in one tile
              wgrad_tile<4>(rows.data(), w0 * C + c0, C, gr + w0 * C + c0, k, dw + c0);
              w0 += 4;
            }
            for (; w0 < W; ++w0)
              wgrad_tile<1>(rows.data(), w0 * C + c0, C, gr + w0 * C + c0, k, dw + c0);
          }
          for (int64_t c = c_vec; c < C; ++c)
            for (int64_t i = 0; i < k; ++i)
              for (int64_t j = 0; j < k; ++j) {
                float acc = 0.f;
                for (int64_t o = 0; o < W; ++o) acc += gr[o * C + c] * rows[i][(o + j) * C + c];
                dw[(i * k + j) * C + c] += acc;
              }
        }
    }
  });
  return partial.sum(0).permute({2, 0, 1}).unsqueeze(1).contiguous();  // (C, 1, k, k)
}

// ---- GELU then BatchNorm (training mode), fused: ConvMixer's "BN(GELU(conv(x)))" ----------
// PyTorch runs GELU, BatchNorm's statistics, its normalisation and their backward passes as
// separate sweeps over (N, H, W, C) tensors that do not fit in cache; on 2 cores those sweeps,
// not the convolutions, bound a ConvMixer step. Here GELU is recomputed from its input inside
// two sweeps forward (statistics; normalise) and two backward (sums; gradient). GELU is the
// exact erf form, with erf to 1.5e-7 (Abramowitz & Stegun 7.1.26) and a Cephes-style exp.

typedef int32_t vi __attribute__((vector_size(VL * sizeof(int32_t))));

inline vf splat(float v) { return vf{} + v; }

inline vf v_exp(vf x) {  // e^x for x in [-87, 88]
  x = x < splat(-87.f) ? splat(-87.f) : x;
  x = x > splat(88.f) ? splat(88.f) : x;
  vf fx = x * 1.44269504088896341f + 0.5f;
  vf fl = __builtin_convertvector(__builtin_convertvector(fx, vi), vf);
  fl = fl > fx ? fl - 1.f : fl;  // floor(x / ln 2 + 1/2)
  vf r = x - fl * 0.693359375f + fl * 2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  vi bits = (__builtin_convertvector(fl, vi) + 127) << 23;  // 2^n
  return p * (vf)bits;
}

// 1 / d for d >= 1: an approximate reciprocal and one Newton step where AVX-512 has one (a
// division costs several times more), else a division
inline vf reciprocal(vf d) {
#if defined(__AVX512F__)
  vf t = (vf)__builtin_ia32_rcp14ps512_mask((__v16sf)d, (__v16sf)vf{}, (__mmask16)-1);
  return t * (2.f - d * t);
#else
  return 1.f / d;
#endif
}

// a = gelu(y) = y Φ(y); da = gelu'(y) = Φ(y) + y φ(y)
inline void v_gelu(vf y, vf& a, vf& da) {
  vf z = y * 0.70710678118654752f;
  vf az = z < splat(0.f) ? -z : z;
  vf t = reciprocal(1.f + 0.3275911f * az);
  vf poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t +
             0.254829592f) * t;
  vf e = v_exp(-az * az);  // e^{-y²/2}
  vf erf_abs = 1.f - poly * e;
  vf cdf = 0.5f + 0.5f * (z < splat(0.f) ? -erf_abs : erf_abs);
  a = y * cdf;
  da = cdf + y * e * 0.39894228040143268f;
}

// da = gelu'(y) alone (the value gelu(y) is the one the forward stored)
inline void v_gelu_grad(vf y, vf& da) {
  vf a;
  v_gelu(y, a, da);
}

inline vf v_gelu(vf y) {
  vf a, da;
  v_gelu(y, a, da);
  return a;
}

void check_norm(const at::Tensor& y, const at::Tensor& gamma) {
  TORCH_CHECK(y.device().is_cpu() && y.scalar_type() == at::kFloat && y.dim() == 4 &&
                  y.size(1) % VL == 0,
              "gelu_bn: y must be a 4-d float32 CPU tensor with a multiple of 16 channels");
  TORCH_CHECK(gamma.numel() == y.size(1) && gamma.scalar_type() == at::kFloat,
              "gelu_bn: one float32 weight per channel");
}

// per-channel sums over all rows of f(row) -> two (C,) sums, as doubles: blocks of 64 rows add
// in float, blocks add in double, so 10^5-10^6 rows lose no more than a float sum of 64
template <typename F>
std::pair<at::Tensor, at::Tensor> channel_sums(int64_t M, int64_t C, const at::Tensor& like,
                                               F f) {
  int64_t parts = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), M));
  auto acc = at::zeros({parts, 2, C}, like.options().dtype(at::kDouble));
  double* as = acc.data_ptr<double>();
  at::parallel_for(0, parts, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> s(2 * C);
    for (int64_t p = begin; p < end; ++p) {
      double* out = as + p * 2 * C;
      int64_t r0 = p * M / parts, r1 = (p + 1) * M / parts;
      for (int64_t b = r0; b < r1; b += 64) {
        std::fill(s.begin(), s.end(), 0.f);
        for (int64_t r = b; r < std::min(b + 64, r1); ++r)
          for (int64_t c0 = 0; c0 < C; c0 += VL) {
            vf u, v;
            f(r, c0, u, v);
            store(s.data() + c0, load(s.data() + c0) + u);
            store(s.data() + C + c0, load(s.data() + C + c0) + v);
          }
        for (int64_t c = 0; c < 2 * C; ++c) out[c] += s[c];
      }
    }
  });
  auto total = acc.sum(0);
  return {total[0], total[1]};
}

// a new (M, C) tensor like `like` with out[r, c0:c0+16] = f(r, c0), rows split among threads
template <typename F>
at::Tensor map_rows(int64_t M, int64_t C, const at::Tensor& like, F f) {
  auto out = at::empty_like(like);
  float* os = out.data_ptr<float>();
  at::parallel_for(0, M, 256, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      for (int64_t c0 = 0; c0 < C; c0 += VL) store(os + r * C + c0, f(r, c0));
  });
  return out;
}

// BatchNorm's batch statistics from the channel sums s = sum of x and q = sum of x² over M
// rows: mean, biased var, and the float scale and shift with BN(x) = x * scale + shift
struct BnStats {
  at::Tensor mean, var, scale, shift;
};

BnStats bn_stats(const at::Tensor& s, const at::Tensor& q, int64_t M, const at::Tensor& gamma,
                 const at::Tensor& beta, double eps) {
  auto mean = s / M;
  auto var = (q / M - mean * mean).clamp_min(0);
  auto scale = (gamma.to(at::kDouble) / (var + eps).sqrt()).to(at::kFloat).contiguous();
  auto shift = (beta.to(at::kDouble) - mean * scale.to(at::kDouble)).to(at::kFloat).contiguous();
  return {mean.to(at::kFloat), var.to(at::kFloat), scale, shift};
}

// returns (BN(gelu(y)) [+ residual], gelu(y), mean, biased var) with batch statistics
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> gelu_bn_forward(
    const at::Tensor& y_in, const at::Tensor& gamma, const at::Tensor& beta,
    const c10::optional<at::Tensor>& residual, double eps) {
  check_norm(y_in, gamma);
  auto y = nhwc(y_in);
  int64_t C = y.size(3), M = y.numel() / C;
  const float* ys = y.data_ptr<float>();
  auto act = at::empty_like(y);  // gelu(y), kept for the second pass and the backward
  float* as = act.data_ptr<float>();
  auto [s, q] = channel_sums(M, C, y, [&](int64_t r, int64_t c0, vf& u, vf& v) {
    vf a = v_gelu(load(ys + r * C + c0));
    store(as + r * C + c0, a);
    u = a;
    v = a * a;
  });
  auto bn = bn_stats(s, q, M, gamma, beta, eps);
  at::Tensor res = residual.has_value() ? nhwc(*residual) : at::Tensor();
  TORCH_CHECK(!res.defined() || res.sizes() == y.sizes(), "gelu_bn: residual shape");
  const float *sc = bn.scale.data_ptr<float>(), *sh = bn.shift.data_ptr<float>();
  const float* rs = res.defined() ? res.data_ptr<float>() : nullptr;
  auto out = map_rows(M, C, y, [&](int64_t r, int64_t c0) {
    vf o = load(as + r * C + c0) * load(sc + c0) + load(sh + c0);
    return rs ? o + load(rs + r * C + c0) : o;
  });
  return {out.permute({0, 3, 1, 2}), act.permute({0, 3, 1, 2}), bn.mean, bn.var};
}

// BatchNorm's backward with batch statistics, from the two channel sums of the gradient g that
// reaches the normalised output: sg = sum of g, sgx = sum of g * input. Gives dgamma, dbeta and
// per-channel k1, k2, k3 (float) with d input = k1 * g + k2 * input + k3.
struct BnGrad {
  at::Tensor dgamma, dbeta, k1, k2, k3;
};

BnGrad bn_grad(const at::Tensor& sg, const at::Tensor& sgx, const at::Tensor& mean,
               const at::Tensor& var, const at::Tensor& gamma, double eps, int64_t M) {
  auto m = mean.to(at::kDouble), invstd = 1.0 / (var.to(at::kDouble) + eps).sqrt();
  auto dbeta = sg;
  auto dgamma = invstd * (sgx - m * sg);  // sum of g * xhat
  auto k1 = gamma.to(at::kDouble) * invstd;
  auto k2 = (-k1 * invstd * dgamma / M).to(at::kFloat).contiguous();
  auto k3 = (k1 * (m * invstd * dgamma - dbeta) / M).to(at::kFloat).contiguous();
  return {dgamma.to(at::kFloat), dbeta.to(at::kFloat), k1.to(at::kFloat).contiguous(), k2, k3};
}

// BatchNorm's backward in two sweeps over M rows of C channels: sums(r, c0, u, v) gives a row's
// g and g * input (the channel sums bn_grad needs), grad(r, c0, k1, k2, k3) a row's input
// gradient from them; the ops differ only in these two expressions. Returns (d input as an
// (N, C, H, W) view, dgamma, dbeta).
template <typename Sums, typename Grad>
std::tuple<at::Tensor, at::Tensor, at::Tensor> bn_backward(
    int64_t M, int64_t C, const at::Tensor& like, const at::Tensor& mean, const at::Tensor& var,
    const at::Tensor& gamma, double eps, Sums sums, Grad grad) {
  auto [sg, sgx] = channel_sums(M, C, like, sums);
  BnGrad bn = bn_grad(sg, sgx, mean, var, gamma, eps, M);  // named: not a dependent type
  const float *a1 = bn.k1.data_ptr<float>(), *a2 = bn.k2.data_ptr<float>(),
              *a3 = bn.k3.data_ptr<float>();
  auto d = map_rows(M, C, like, [&](int64_t r, int64_t c0) {
    return grad(r, c0, load(a1 + c0), load(a2 + c0), load(a3 + c0));
  });
  return {d.permute({0, 3, 1, 2}), bn.dgamma, bn.dbeta};
}

// gradients of BN(gelu(y)) with batch statistics: (dy, dgamma, dbeta)
std::tuple<at::Tensor, at::Tensor, at::Tensor> gelu_bn_backward(
    const at::Tensor& g_in, const at::Tensor& y_in, const at::Tensor& act_in,
    const at::Tensor& mean, const at::Tensor& var, const at::Tensor& gamma, double eps) {
  check_norm(y_in, gamma);
  auto y = nhwc(y_in), g = nhwc(g_in), act = nhwc(act_in);
  const float* as = act.data_ptr<float>();
  int64_t C = y.size(3), M = y.numel() / C;
  const float* ys = y.data_ptr<float>();
  const float* gs = g.data_ptr<float>();
  auto sums = [&](int64_t r, int64_t c0, vf& u, vf& v) {
    vf gv = load(gs + r * C + c0);
    u = gv;
    v = gv * load(as + r * C + c0);
  };
  auto grad = [&](int64_t r, int64_t c0, vf k1, vf k2, vf k3) {
    vf a = load(as + r * C + c0), da;  // the stored gelu(y); only gelu'(y) is computed
    v_gelu_grad(load(ys + r * C + c0), da);
    return (k1 * load(gs + r * C + c0) + k2 * a + k3) * da;
  };
  return bn_backward(M, C, y, mean, var, gamma, eps, sums, grad);
}

// ---- BatchNorm (training mode) then ReLU, fused: the separable ResNet's pre-activations ------
// PyTorch runs BatchNorm's statistics, its normalisation, ReLU and their backward passes as
// separate sweeps; here two sweeps forward (statistics; normalise and clamp) and two backward
// (sums; gradient). The backward recomputes ReLU's mask from x with the forward's own per-channel
// scale and shift (bn_affine, the same float operations), so it is the forward's mask exactly.

inline vf bn_affine(vf x, vf scale, vf shift) { return x * scale + shift; }

// returns (relu(BN(x)), mean, biased var, scale, shift) with batch statistics; scale and shift
// (gamma / sqrt(var + eps), beta - mean * scale, as float) are what the backward needs
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> bn_relu_forward(
    const at::Tensor& x_in, const at::Tensor& gamma, const at::Tensor& beta, double eps) {
  check_norm(x_in, gamma);
  auto x = nhwc(x_in);
  int64_t C = x.size(3), M = x.numel() / C;
  const float* xs = x.data_ptr<float>();
  auto [s, q] = channel_sums(M, C, x, [&](int64_t r, int64_t c0, vf& u, vf& v) {
    vf a = load(xs + r * C + c0);
    u = a;
    v = a * a;
  });
  auto bn = bn_stats(s, q, M, gamma, beta, eps);
  const float *sc = bn.scale.data_ptr<float>(), *sh = bn.shift.data_ptr<float>();
  auto out = map_rows(M, C, x, [&](int64_t r, int64_t c0) {
    vf z = bn_affine(load(xs + r * C + c0), load(sc + c0), load(sh + c0));
    return z > splat(0.f) ? z : splat(0.f);
  });
  return {out.permute({0, 3, 1, 2}), bn.mean, bn.var, bn.scale, bn.shift};
}

// gradients of relu(BN(x)) with batch statistics: (dx, dgamma, dbeta)
std::tuple<at::Tensor, at::Tensor, at::Tensor> bn_relu_backward(
    const at::Tensor& g_in, const at::Tensor& x_in, const at::Tensor& mean, const at::Tensor& var,
    const at::Tensor& scale, const at::Tensor& shift, const at::Tensor& gamma, double eps) {
  check_norm(x_in, gamma);
  auto x = nhwc(x_in), g = nhwc(g_in);
  int64_t C = x.size(3), M = x.numel() / C;
  const float *xs = x.data_ptr<float>(), *gs = g.data_ptr<float>();
  const float *sc = scale.data_ptr<float>(), *sh = shift.data_ptr<float>();
  auto masked = [&](int64_t r, int64_t c0, vf xv) {  // g where the forward's output was > 0
    vf z = bn_affine(xv, load(sc + c0), load(sh + c0));
    return z > splat(0.f) ? load(gs + r * C + c0) : splat(0.f);
  };
  auto sums = [&](int64_t r, int64_t c0, vf& u, vf& v) {
    vf xv = load(xs + r * C + c0), gz = masked(r, c0, xv);
    u = gz;
    v = gz * xv;
  };
  auto grad = [&](int64_t r, int64_t c0, vf k1, vf k2, vf k3) {
    vf xv = load(xs + r * C + c0);
    return k1 * masked(r, c0, xv) + k2 * xv + k3;
  };
  return bn_backward(M, C, x, mean, var, gamma, eps, sums, grad);
}

}  // namespace

TORCH_LIBRARY(spatialmix_native, m) {
  m.def("dw_forward(Tensor x, Tensor w, Tensor? bias, int pad_before) -> Tensor");
  m.def("dw_input_grad(Tensor g, Tensor w, int pad_before) -> Tensor");
  m.def("dw_weight_grad(Tensor x, Tensor g, int k, int pad_before) -> Tensor");
  m.def("gelu_bn_forward(Tensor y, Tensor gamma, Tensor beta, Tensor? residual, float eps)"
        " -> (Tensor, Tensor, Tensor, Tensor)");
  m.def("gelu_bn_backward(Tensor g, Tensor y, Tensor act, Tensor mean, Tensor var, Tensor gamma,"
        " float eps) -> (Tensor, Tensor, Tensor)");
  m.def("bn_relu_forward(Tensor x, Tensor gamma, Tensor beta, float eps)"
        " -> (Tensor, Tensor, Tensor, Tensor, Tensor)");
  m.def("bn_relu_backward(Tensor g, Tensor x, Tensor mean, Tensor var, Tensor scale,"
        " Tensor shift, Tensor gamma, float eps) -> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(spatialmix_native, CPU, m) {
  m.impl("dw_forward", &dw_forward);
  m.impl("dw_input_grad", &dw_input_grad);
  m.impl("dw_weight_grad", &dw_weight_grad);
  m.impl("gelu_bn_forward", &gelu_bn_forward);
  m.impl("gelu_bn_backward", &gelu_bn_backward);
  m.impl("bn_relu_forward", &bn_relu_forward);
  m.impl("bn_relu_backward", &bn_relu_backward);
}
