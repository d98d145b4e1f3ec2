"""Train a small PyTorch classifier on the 8x8 handwritten digits data set, the ModelArts way.

ModelArts passes every input, output and hyperparameter as a command-line flag
(--data_url=..., --train_url=..., --epochs=...), so the script reads them with argparse and
parse_known_args(): flags it does not know (added by the platform) are ignored.

    python train.py --data_url=./data --train_url=./out --epochs=30 --lr=0.01
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn


def parse_args(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description="digits classifier")
    parser.add_argument("--data_url", default=os.path.join(here, "data"),
                        help="folder holding digits.csv.gz (or the file itself)")
    parser.add_argument("--train_url", default=os.path.join(here, "output"),
                        help="folder the checkpoint and metrics are written to")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args, unknown = parser.parse_known_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if unknown:
        print(f"ignoring unknown arguments: {' '.join(unknown)}")
    return args


def load_digits(data_url):
    path = data_url
    if os.path.isdir(path):
        path = os.path.join(path, "digits.csv.gz")
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    features = table[:, :-1] / 16.0  # pixel counts are 0..16
    labels = table[:, -1].astype(np.int64)
    return features, labels


def split(features, labels, seed, validation=0.2):
    order = np.random.default_rng(seed).permutation(len(labels))
    cut = int(len(labels) * (1 - validation))
    train, val = order[:cut], order[cut:]
    return (features[train], labels[train]), (features[val], labels[val])


def evaluate(model, loss_fn, x, y):
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = loss_fn(logits, y).item()
        acc = (logits.argmax(dim=1) == y).float().mean().item()
    return loss, acc


def save_checkpoint(path, state):
    # Write then rename, so a stopped job never leaves a torn checkpoint behind.
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    os.makedirs(args.train_url, exist_ok=True)

    features, labels = load_digits(args.data_url)
    (x_train, y_train), (x_val, y_val) = split(features, labels, args.seed)
    x_train, y_train = torch.from_numpy(x_train), torch.from_numpy(y_train)
    x_val, y_val = torch.from_numpy(x_val), torch.from_numpy(y_val)
    print(f"digits: {len(y_train)} training and {len(y_val)} validation samples from {args.data_url}")
    print(f"hyperparameters: epochs={args.epochs} lr={args.lr} batch_size={args.batch_size} hidden={args.hidden}")

    model = nn.Sequential(
        nn.Linear(64, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, 10),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    checkpoint = os.path.join(args.train_url, "checkpoint.pt")

    started = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(y_train))
        total_loss, correct = 0.0, 0
        for start in range(0, len(order), args.batch_size):
            batch = order[start:start + args.batch_size]
            logits = model(x_train[batch])
            loss = loss_fn(logits, y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(batch)
            correct += (logits.argmax(dim=1) == y_train[batch]).sum().item()
        train_loss, train_acc = total_loss / len(y_train), correct / len(y_train)
        val_loss, val_acc = evaluate(model, loss_fn, x_val, y_val)
        print(f"epoch {epoch} loss {train_loss:.4f} acc {train_acc:.4f} val_loss {val_loss:.4f} val_acc {val_acc:.4f}")
        save_checkpoint(checkpoint, {
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "args": vars(args),
        })

    metrics = {"epochs": args.epochs, "val_loss": val_loss, "val_acc": val_acc,
               "seconds": round(time.time() - started, 3)}
    with open(os.path.join(args.train_url, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    print(f"saved checkpoint to {checkpoint} (validation accuracy {val_acc:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
