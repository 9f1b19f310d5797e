"""The Gatys costs against hand computations."""

import pytest
import torch

from engine.nst import losses


def test_gram_matches_hand_computation():
    # C=2 channels, H=1, W=2: F = [[1, 2], [3, 4]]; F F^T = [[5, 11], [11, 25]]; / (C*H*W = 4)
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    expected = torch.tensor([[[5.0, 11.0], [11.0, 25.0]]]) / 4
    assert torch.allclose(losses.gram(f), expected)


def test_gram_is_independent_of_image_size():
    torch.manual_seed(0)
    f = torch.rand(1, 8, 5, 7)
    tiled = f.repeat(1, 1, 3, 2)  # same statistics over 6x as many positions
    assert torch.allclose(losses.gram(f), losses.gram(tiled), atol=1e-6)


def test_gram_is_float32_even_for_half_features():
    f = (torch.rand(1, 4, 8, 8) * 255).to(torch.bfloat16)
    assert losses.gram(f).dtype == torch.float32


def test_content_cost_is_mean_squared_difference():
    a = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    b = torch.tensor([[[[1.0, 0.0], [3.0, 8.0]]]])
    assert losses.content_cost(a, b).item() == pytest.approx((0 + 4 + 0 + 16) / 4)


def test_style_cost_weights_each_layer_by_lambda():
    torch.manual_seed(1)
    feats = {"relu1_1": torch.rand(1, 3, 4, 4), "relu2_1": torch.rand(1, 5, 2, 2)}
    targets = {k: losses.gram(torch.rand_like(v)) for k, v in feats.items()}
    per_layer = {k: ((losses.gram(feats[k]) - targets[k]) ** 2).mean().item() for k in feats}
    got = losses.style_cost(feats, targets, {"relu1_1": 2.0, "relu2_1": 0.5}).item()
    assert got == pytest.approx(2.0 * per_layer["relu1_1"] + 0.5 * per_layer["relu2_1"], rel=1e-5)
    only_first = losses.style_cost(feats, targets, {"relu1_1": 1.0, "relu2_1": 0.0}).item()
    assert only_first == pytest.approx(per_layer["relu1_1"], rel=1e-5)


def test_costs_are_per_batch_item_with_per_item_weights():
    torch.manual_seed(3)
    feats = {"relu1_1": torch.rand(3, 4, 5, 5)}
    targets = {"relu1_1": losses.gram(torch.rand(3, 4, 5, 5))}
    weights = torch.tensor([1.0, 0.0, 4.0])
    batch = losses.style_cost(feats, targets, {"relu1_1": weights})
    alone = [losses.style_cost({"relu1_1": feats["relu1_1"][i:i + 1]}, {"relu1_1": targets["relu1_1"][i:i + 1]},
                               {"relu1_1": float(weights[i])}) for i in range(3)]
    assert batch.shape == (3,) and torch.allclose(batch, torch.cat(alone))
    c = torch.rand(3, 2, 4, 4)
    assert torch.allclose(losses.content_cost(c, c.flip(0)), torch.stack(
        [losses.content_cost(c[i:i + 1], c.flip(0)[i:i + 1])[0] for i in range(3)]))


def test_tv_cost_matches_hand_computation():
    img = torch.tensor([[[[0.0, 1.0], [2.0, 4.0]]]])
    # horizontal diffs 1, 2 -> mean of squares 2.5; vertical diffs 2, 3 -> 6.5
    assert losses.tv_cost(img).item() == pytest.approx(2.5 + 6.5)


def test_blended_style_target_is_the_weighted_mean_of_grams():
    a = {"relu1_1": torch.zeros(1, 2, 2)}
    b = {"relu1_1": torch.ones(1, 2, 2)}
    blended = losses.blend_grams([a, b], [1.0, 3.0])
    assert torch.allclose(blended["relu1_1"], torch.full((1, 2, 2), 0.75))


def test_gram_gradient_matches_autograd_of_the_plain_product():
    torch.manual_seed(2)
    f = torch.rand(2, 3, 4, 5, dtype=torch.double, requires_grad=True)
    target = torch.rand(2, 3, 3, dtype=torch.double)
    ((losses.gram(f) - target) ** 2).sum().backward()
    ours = f.grad.clone()
    f.grad = None
    flat = f.reshape(2, 3, 20)
    (((torch.bmm(flat, flat.transpose(1, 2)) / 60 - target) ** 2).sum()).backward()
    assert torch.allclose(ours, f.grad)
