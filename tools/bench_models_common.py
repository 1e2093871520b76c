"""What tools/bench_ort.py and tools/compare_ort.py share with bench/models/bench_models.cpp: which
models, where their inputs come from, and the timing scheme. Keep the three in step.

A model is named by its .onnx path. Its inputs, in model input order, are the first of:
  DIR/test_data_set_0/input_<i>.pb   (the ONNX backend test data layout)
  DIR/input_<i>.npy                  (what tools/make_encoder.py writes)
where DIR is the model's folder. A benchmark row is named models/<name>/threads:<T>, <name> being the
folder's name (test_Conv2d, minilm, ...).
"""
import glob
import os

CONV_DATA = "/usr/share/libonnx-testdata/data/pytorch-converted"
GENERATED = "build/models"

# Timing scheme (the C++ side passes the same numbers to Google Benchmark): per model and thread
# count, WARMUP_S seconds of untimed runs, then REPETITIONS repetitions of at least MIN_TIME_S
# seconds each; a repetition's figure is its mean time per run; the p50 is the median repetition.
WARMUP_S = 0.1
MIN_TIME_S = 0.1
REPETITIONS = 5


def model_name(path):
    return os.path.basename(os.path.dirname(os.path.abspath(path)))


def input_files(path, count):
    d = os.path.dirname(os.path.abspath(path))
    files = []
    for i in range(count):
        for cand in (os.path.join(d, "test_data_set_0", f"input_{i}.pb"), os.path.join(d, f"input_{i}.npy")):
            if os.path.exists(cand):
                files.append(cand)
                break
        else:
            raise FileNotFoundError(f"{path}: no test_data_set_0/input_{i}.pb or input_{i}.npy beside it")
    return files


def default_models():
    """The pytorch-converted conv models (test_Conv*, test_ConvTranspose*) and the generated encoders."""
    models = sorted(glob.glob(os.path.join(CONV_DATA, "test_Conv*", "model.onnx")))
    for name in ("minilm", "minilm-decomposed-ln", "bert-base"):
        p = os.path.join(GENERATED, name, "model.onnx")
        if os.path.exists(p):
            models.append(p)
    return models
