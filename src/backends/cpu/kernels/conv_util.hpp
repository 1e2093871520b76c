// Helpers of the conv family: attribute parsing, output geometry (every conv is seen as 3-D, lower
// ranks having leading spatial dimensions of 1) and the plain direct loops for dtypes without a
// fast path.
#pragma once

#include <cstdint>
#include <vector>

#include "matmul_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

Result<std::unique_ptr<backend::Kernel>> make_conv_transpose(const graph::Graph& g, const graph::Node& node);
Result<std::unique_ptr<backend::Kernel>> make_conv_integer(const graph::Graph& g, const graph::Node& node);
Result<std::unique_ptr<backend::Kernel>> make_qlinear_conv(const graph::Graph& g, const graph::Node& node);
// Conv followed by an activation that runs in the GEMM epilogue (fp32 only when `act` is not
// identity); FusedConv's kernel (fused_conv.cpp). make_conv is this with identity.
Result<std::unique_ptr<backend::Kernel>> make_conv_activation(const graph::Graph& g, const graph::Node& node,
                                                              kernels::UnaryOp act, kernels::UnaryParams act_params);

enum class AutoPad { notset, same_upper, same_lower, valid };

struct ConvAttrs {
  AutoPad auto_pad = AutoPad::notset;
  int64_t group = 1;
  std::vector<int64_t> kernel_shape, strides, dilations, pads, output_padding, output_shape;
};

// Reads and checks the attributes shared by Conv, ConvInteger and ConvTranspose.
Result<ConvAttrs> parse_conv_attrs(const graph::Node& node, bool transpose);

// The geometry of one conv, spatial dims padded at the front to 3.
struct ConvGeom {
  int nd = 0;  // spatial rank as given
  int64_t N = 0, C = 0, M = 0, group = 1, Cg = 0, Mg = 0;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, dil[3] = {1, 1, 1}, pad[3] = {0, 0, 0};  // pad: at the beginning
  int64_t in_size = 1, out_size = 1, kvol = 1;
  Shape out_shape;
};

// X [N, C, spatial...], W [M, C/group, k...] (Conv) or [C, M/group, k...] (ConvTranspose).
Result<ConvGeom> conv_geometry(const graph::Node& node, const ConvAttrs& at, const Shape& x, const Shape& w,
                               bool transpose);

inline constexpr int kConvMaxSpatial = 3;

// y[n, m, o] = sum over c, kernel offsets of load_x(n, ci, input index) * load_w(m, weight index),
// then store(y index, m, acc). Out-of-bounds (padding) taps contribute nothing. Threads over (n, m).
template <class Acc, class LoadX, class LoadW, class Store>
void conv_direct(const ConvGeom& g, LoadX load_x, LoadW load_w, Store store) {
  parallel_for(g.N * g.M, [&](int64_t nm) {
    const int64_t n = nm / g.M, m = nm % g.M, grp = m / g.Mg;
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          Acc acc = Acc(0);
          for (int64_t c = 0; c < g.Cg; ++c) {
            const int64_t ci = grp * g.Cg + c;
            const int64_t x_base = (n * g.C + ci) * g.in_size;
            const int64_t w_base = (m * g.Cg + c) * g.kvol;
            for (int64_t kd = 0; kd < g.k[0]; ++kd) {
              const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0];
              if (id < 0 || id >= g.in[0]) continue;
              for (int64_t kh = 0; kh < g.k[1]; ++kh) {
                const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dil[1];
                if (ih < 0 || ih >= g.in[1]) continue;
                for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                  const int64_t iw = ow * g.stride[2] - g.pad[2] + kw * g.dil[2];
                  if (iw < 0 || iw >= g.in[2]) continue;
                  acc += load_x(x_base + (id * g.in[1] + ih) * g.in[2] + iw) *
                         load_w(m, w_base + (kd * g.k[1] + kh) * g.k[2] + kw);
                }
              }
            }
          }
          store((n * g.M + m) * g.out_size + (od * g.out[1] + oh) * g.out[2] + ow, m, acc);
        }
  });
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
