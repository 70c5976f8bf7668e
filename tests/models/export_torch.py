#!/usr/bin/python3
"""export_torch.py — exports a reference model to ONNX with Debian's python3-torch (random weights, fixed seed).
Usage: export_torch.py NAME OUT.onnx   (NAME: mobilenet_v2 resnet50 squeezenet1_1 efficientnet_b0 bert_encoder)"""
import math
import sys

import torch
import torch.nn as nn

OPSET = 17


class EncoderLayer(nn.Module):
    """One BERT layer written out (not nn.TransformerEncoderLayer, whose fused fast path does not export)."""

    def __init__(self, hidden, heads, inter):
        super().__init__()
        self.heads, self.dh = heads, hidden // heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.ln1 = nn.LayerNorm(hidden, eps=1e-12)
        self.ff1 = nn.Linear(hidden, inter)
        self.ff2 = nn.Linear(inter, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, bias):
        b, s, h = x.shape
        q, k, v = self.qkv(x).view(b, s, 3, self.heads, self.dh).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.dh) + bias, dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(b, s, h)
        x = self.ln1(x + self.out(ctx))
        return self.ln2(x + self.ff2(nn.functional.gelu(self.ff1(x))))


class BertEncoder(nn.Module):
    def __init__(self, vocab=30522, hidden=256, layers=4, heads=4, inter=1024, max_pos=512):
        super().__init__()
        self.tok = nn.Embedding(vocab, hidden)
        self.pos = nn.Embedding(max_pos, hidden)
        self.typ = nn.Embedding(2, hidden)
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList(EncoderLayer(hidden, heads, inter) for _ in range(layers))
        self.pool = nn.Linear(hidden, hidden)

    def forward(self, input_ids, attention_mask, token_type_ids):
        pos = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = self.ln(self.tok(input_ids) + self.pos(pos) + self.typ(token_type_ids))
        bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        return x, torch.tanh(self.pool(x[:, 0]))


def main():
    name, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    if name == "bert_encoder":
        model = BertEncoder().eval()
        ids = torch.randint(0, 30522, (1, 128))
        args = (ids, torch.ones(1, 128, dtype=torch.int64), torch.zeros(1, 128, dtype=torch.int64))
        names = ["input_ids", "attention_mask", "token_type_ids"]
        outs = ["last_hidden_state", "pooler_output"]
        dyn = {n: {0: "batch", 1: "sequence"} for n in names}
        dyn["last_hidden_state"] = {0: "batch", 1: "sequence"}
    else:
        import torchvision
        model = getattr(torchvision.models, name)(weights=None).eval()
        args = (torch.randn(1, 3, 224, 224),)
        names, outs, dyn = ["input"], ["logits"], {"input": {0: "batch"}, "logits": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(model, args, out, opset_version=OPSET, input_names=names, output_names=outs,
                          dynamic_axes=dyn, do_constant_folding=True)


if __name__ == "__main__":
    main()
