// obol/core.hpp — the header-only core (target obol::core): tensors, dtypes, status, hooks, threads.
#pragma once

#include "obol/core/allocator.hpp"
#include "obol/core/dtype.hpp"
#include "obol/core/parallel.hpp"
#include "obol/core/platform.hpp"
#include "obol/core/shape.hpp"
#include "obol/core/status.hpp"
#include "obol/core/tensor.hpp"
