"""The authors' RandomizedQuantizationAugModule forward, transcribed for the
tests: its results are compared with randquant's in distribution (random
modes) and up to the reference's hi + 1e-6 widening (Uniform + Middle).
(B, c, H, W) float input and p = 1 only."""

import torch


def reference_quantize(x, region_num, collapse_to_val="inside_random",
                       spacing="random", generator=None):
    B, c, H, W = x.shape
    C = B * c
    x = x.reshape(C, H, W)
    min_val = x.view(C, -1).min(1)[0]
    max_val = x.view(C, -1).max(1)[0]
    if spacing == "random":
        pct = torch.rand(C * (region_num - 1), generator=generator)
    else:
        pct = torch.tile(torch.arange(1 / region_num, 1, step=1 / region_num),
                         [C])
    pct = pct.reshape(-1, region_num - 1)
    pos = (pct * (max_val - min_val).view(C, 1)
           + min_val.view(C, 1)).view(C, -1, 1, 1)
    right_check = torch.cat([pos, max_val.view(C, 1, 1, 1) + 1], 1).sort(1)[0]
    right = torch.cat([pos, max_val.view(C, 1, 1, 1) + 1e-6], 1).sort(1)[0]
    left = torch.cat([min_val.view(C, 1, 1, 1), pos], 1).sort(1)[0]
    inside = (x.view(C, 1, H, W) < right_check) * (x.view(C, 1, H, W) >= left)
    assert (inside.sum(1) == 1).all()
    region = torch.argmax(inside.int(), dim=1, keepdim=True)
    if collapse_to_val == "middle":
        proxies = (right + left) / 2
    elif collapse_to_val == "inside_random":
        w = torch.rand(C * region_num, generator=generator)
        proxies = left + w.view(C, -1, 1, 1) * (right - left)
    else:
        return torch.zeros_like(x).view(B, c, H, W)
    out = torch.gather(proxies.expand(-1, -1, H, W), 1, region)[:, 0]
    return out.type(x.dtype).view(B, c, H, W)
