"""cnnc.models: the NumPy training framework (NHWC, float32; float64 for gradient checks).

One module per role:
    layers, binary   layers with forward/backward (B1)     losses, optim, gradcheck (B1)
    network          Sequential/Residual containers, path-named params, .npz checkpoints
    data             digits (fixed split) and MNIST IDX data sets, preprocessing
    zoo              mobilenetv2, xnornet, vgg_like and the CLI registry MODELS
    train            the training loop (TrainConfig, fit, predict, curves)
    export           ONNX export (opset 13, NCHW input, the project's XNOR encoding)
    cli              what `cnnc train` and `cnnc eval` call

Submodules are imported on use (``from cnnc.models import zoo``), so importing
cnnc.models costs nothing.
"""
