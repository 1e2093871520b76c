// Attribute parsing shared by RNN, GRU and LSTM.
#include <algorithm>
#include <cctype>

#include "rnn_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu::rnn {

namespace {

struct ActInfo {
  const char* name;
  Act kind;
  bool uses_alpha, uses_beta;
  double alpha, beta;  // defaults
};

constexpr ActInfo kActs[] = {
    {"relu", Act::relu, false, false, 0.0, 0.0},
    {"tanh", Act::tanh, false, false, 0.0, 0.0},
    {"sigmoid", Act::sigmoid, false, false, 0.0, 0.0},
    {"affine", Act::affine, true, true, 1.0, 0.0},
    {"leakyrelu", Act::leaky_relu, true, false, 0.01, 0.0},
    {"thresholdedrelu", Act::thresholded_relu, true, false, 1.0, 0.0},
    {"scaledtanh", Act::scaled_tanh, true, true, 1.0, 1.0},
    {"hardsigmoid", Act::hard_sigmoid, true, true, 0.2, 0.5},
    {"elu", Act::elu, true, false, 1.0, 0.0},
    {"softsign", Act::softsign, false, false, 0.0, 0.0},
    {"softplus", Act::softplus, false, false, 0.0, 0.0},
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Result<std::vector<std::string>> attr_strings(const graph::Node& node, const char* name) {
  const graph::Attribute* a = node.find_attribute(name);
  if (a == nullptr) return std::vector<std::string>{};
  if (a->kind != graph::Attribute::Kind::strings)
    return node_error(StatusCode::invalid_argument, node, "attribute ", name, " must be a list of strings");
  return a->strings;
}

}  // namespace

Result<RnnAttrs> parse_rnn_attrs(const graph::Node& node, Cell cell) {
  RnnAttrs a;
  a.cell = cell;
  OBOL_ASSIGN_OR_RETURN(const std::string direction, node.attr_string("direction", "forward"));
  if (direction == "forward") {
    a.num_directions = 1;
  } else if (direction == "reverse") {
    a.num_directions = 1;
    a.reverse = true;
  } else if (direction == "bidirectional") {
    a.num_directions = 2;
  } else {
    return node_error(StatusCode::invalid_argument, node, "direction must be forward, reverse or bidirectional, found '",
                      direction, "'");
  }
  OBOL_ASSIGN_OR_RETURN(a.hidden_size, node.attr_int("hidden_size", -1));
  if (node.find_attribute("hidden_size") != nullptr && a.hidden_size <= 0)
    return node_error(StatusCode::invalid_argument, node, "hidden_size must be positive, found ", a.hidden_size);
  OBOL_ASSIGN_OR_RETURN(const float clip, node.attr_float("clip", 0.0f));
  if (node.find_attribute("clip") != nullptr && !(clip > 0.0f))
    return node_error(StatusCode::invalid_argument, node, "clip must be positive, found ", clip);
  a.clip = clip;
  OBOL_ASSIGN_OR_RETURN(const int64_t input_forget, node.attr_int("input_forget", 0));
  a.input_forget = cell == Cell::lstm && input_forget != 0;
  OBOL_ASSIGN_OR_RETURN(const int64_t lbr, node.attr_int("linear_before_reset", 0));
  a.linear_before_reset = cell == Cell::gru && lbr != 0;
  OBOL_ASSIGN_OR_RETURN(const int64_t layout, node.attr_int("layout", 0));
  if (layout != 0 && layout != 1) return node_error(StatusCode::invalid_argument, node, "layout must be 0 or 1, found ", layout);
  a.layout = static_cast<int>(layout);

  OBOL_ASSIGN_OR_RETURN(std::vector<std::string> names, attr_strings(node, "activations"));
  OBOL_ASSIGN_OR_RETURN(const std::vector<float> alphas, node.attr_floats("activation_alpha"));
  OBOL_ASSIGN_OR_RETURN(const std::vector<float> betas, node.attr_floats("activation_beta"));
  const size_t per_dir = static_cast<size_t>(a.acts_per_direction());
  const size_t want = per_dir * static_cast<size_t>(a.num_directions);
  if (names.empty()) {
    const char* defaults[] = {cell == Cell::rnn ? "Tanh" : "Sigmoid", "Tanh", "Tanh"};
    for (int d = 0; d < a.num_directions; ++d)
      for (size_t i = 0; i < per_dir; ++i) names.emplace_back(defaults[i]);
  } else if (names.size() == per_dir && a.num_directions == 2) {
    // Some exporters list one direction's functions for both.
    for (size_t i = 0; i < per_dir; ++i) names.push_back(names[i]);
  }
  if (names.size() != want)
    return node_error(StatusCode::invalid_argument, node, "expected ", want, " activations, found ", names.size());
  // alpha and beta values are consumed in order by the functions that take them.
  size_t ia = 0, ib = 0;
  for (const std::string& name : names) {
    const std::string n = lower(name);
    const ActInfo* info = nullptr;
    for (const ActInfo& k : kActs)
      if (n == k.name) info = &k;
    if (info == nullptr) return node_error(StatusCode::unsupported, node, "activation '", name, "' is not supported");
    Activation act{info->kind, info->alpha, info->beta};
    if (info->uses_alpha && ia < alphas.size()) act.alpha = alphas[ia++];
    if (info->uses_beta && ib < betas.size()) act.beta = betas[ib++];
    a.acts.push_back(act);
  }
  return a;
}

}  // namespace cpu::rnn
}  // inline namespace v1
}  // namespace obol
