// Helpers for the recurrent kernels (RNN, GRU, LSTM): attributes shared by the three ops and the
// gate activation functions.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common.hpp"

namespace obol {
inline namespace v1 {
namespace cpu::rnn {

enum class Act { relu, tanh, sigmoid, affine, leaky_relu, thresholded_relu, scaled_tanh, hard_sigmoid, elu, softsign, softplus };

struct Activation {
  Act kind = Act::tanh;
  double alpha = 0.0;
  double beta = 0.0;
};

enum class Cell { rnn, gru, lstm };

struct RnnAttrs {
  Cell cell = Cell::rnn;
  int num_directions = 1;
  bool reverse = false;  // forward-only graphs that run backwards in time
  int64_t hidden_size = -1;  // -1: taken from R
  double clip = 0.0;         // 0: no clipping
  bool input_forget = false;
  bool linear_before_reset = false;
  int layout = 0;
  // Per direction: gates() activations each (RNN: f; GRU: f, g; LSTM: f, g, h).
  std::vector<Activation> acts;

  int gates() const noexcept { return cell == Cell::lstm ? 4 : cell == Cell::gru ? 3 : 1; }
  int acts_per_direction() const noexcept { return cell == Cell::lstm ? 3 : cell == Cell::gru ? 2 : 1; }
};

Result<RnnAttrs> parse_rnn_attrs(const graph::Node& node, Cell cell);

template <class T>
inline T activate(const Activation& a, T x) {
  switch (a.kind) {
    case Act::relu: return x > T(0) ? x : T(0);
    case Act::tanh: return std::tanh(x);
    case Act::sigmoid: return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
    case Act::affine: return static_cast<T>(a.alpha) * x + static_cast<T>(a.beta);
    case Act::leaky_relu: return x >= T(0) ? x : static_cast<T>(a.alpha) * x;
    case Act::thresholded_relu: return x > static_cast<T>(a.alpha) ? x : T(0);
    case Act::scaled_tanh: return static_cast<T>(a.alpha) * std::tanh(static_cast<T>(a.beta) * x);
    case Act::hard_sigmoid: {
      const T v = static_cast<T>(a.alpha) * x + static_cast<T>(a.beta);
      return v < T(0) ? T(0) : v > T(1) ? T(1) : v;
    }
    case Act::elu: return x >= T(0) ? x : static_cast<T>(a.alpha) * (std::exp(x) - T(1));
    case Act::softsign: return x / (T(1) + std::abs(x));
    case Act::softplus: return x > T(30) ? x : std::log1p(std::exp(x));
  }
  return x;
}

}  // namespace cpu::rnn
}  // inline namespace v1
}  // namespace obol
