// Which economics components the command-line tool wires in. Each switches on when its library
// part is in the tree; until then the commands say that the feature is not in this build.
#pragma once

#define OBOL_CLI_HAVE_QUANTIZER 1    // obol/quant/quantizer.hpp: int8/int4 variants
#define OBOL_CLI_HAVE_BATCHER 1      // obol/econ/batcher.hpp: bench --batcher
#define OBOL_CLI_HAVE_CACHE 1        // obol/econ/cache.hpp: bench --cache
#define OBOL_CLI_HAVE_ONNX_WRITER 1  // obol/formats/onnx_writer.hpp: the demo writes its models as ONNX
