"""Train a small PyTorch classifier on the 8x8 handwritten digits data set, the ModelArts way.

ModelArts passes every input, output and hyperparameter as a command-line flag
(--data_url=..., --train_url=..., --epochs=...), so the script reads them with argparse and
parse_known_args(): flags it does not know (added by the platform) are ignored.

    python train.py --data_url=./data --train_url=./out --epochs=30 --lr=0.01

Incremental training: if <train_url>/checkpoint.pt already exists (ModelArts downloads the output
location's content before an incremental job starts), the script loads the model, the optimizer and
the epoch count from it and continues; --epochs is the total target, so a finished 5-epoch run
started again with --epochs=8 trains epochs 6, 7 and 8. The checkpoint is rewritten atomically after
every epoch, so a stopped job loses at most the epoch that was running.

Stopping: ModelArts stops a job with SIGTERM and kills it after a grace period. The script then
finishes the running epoch (a fraction of a second here), saves the checkpoint, prints
"stopped by SIGTERM at epoch N" and exits with code 143 (128 + SIGTERM, the conventional status of a
process ended by SIGTERM), so an interrupted run is never mistaken for a completed one.
"""
import argparse
import gzip
import json
import os
import signal
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


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def build_model(hidden):
    return nn.Sequential(
        nn.Linear(64, hidden), nn.ReLU(),
        nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, 10),
    )


def load_checkpoint(path):
    """The saved state, or None when there is none. Reads every checkpoint this script has written:
    {"epoch", "model", "optimizer", "args"}, optionally with "rng" (added along with resuming)."""
    if not os.path.isfile(path):
        return None
    try:
        state = torch.load(path, map_location="cpu")
        int(state["epoch"]), state["model"], state["optimizer"]
    except Exception as error:  # a truncated or foreign file: stop rather than overwrite it
        raise SystemExit(f"cannot resume from {path}: {error}; remove it to train from scratch")
    return state


class StopRequest:
    """Remembers a SIGTERM (or Ctrl-C) so the training loop can stop at an epoch boundary."""

    def __init__(self):
        self.signal_name = None
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._handle)

    def _handle(self, signum, frame):
        if self.signal_name is None:
            self.signal_name = signal.Signals(signum).name
            print(f"received {self.signal_name}: finishing the current epoch and saving the checkpoint")
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C stops at once

    def __bool__(self):
        return self.signal_name is not None


def main(argv=None):
    stop = StopRequest()  # first, so a stop during start-up is not lost either
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    os.makedirs(args.train_url, exist_ok=True)

    features, labels = load_digits(args.data_url)
    (x_train, y_train), (x_val, y_val) = split(features, labels, args.seed)
    x_train, y_train = torch.from_numpy(x_train), torch.from_numpy(y_train)
    x_val, y_val = torch.from_numpy(x_val), torch.from_numpy(y_val)
    print(f"digits: {len(y_train)} training and {len(y_val)} validation samples from {args.data_url}")
    print(f"hyperparameters: epochs={args.epochs} lr={args.lr} batch_size={args.batch_size} hidden={args.hidden}")

    checkpoint = os.path.join(args.train_url, "checkpoint.pt")
    state = load_checkpoint(checkpoint)
    hidden = args.hidden
    if state is not None:
        saved_hidden = state.get("args", {}).get("hidden", hidden)
        if saved_hidden != hidden:
            print(f"using hidden={saved_hidden} from the checkpoint instead of --hidden={hidden}")
            hidden = saved_hidden
    model = build_model(hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    done = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        for group in optimizer.param_groups:
            group["lr"] = args.lr  # the learning rate of this run wins over the saved one
        done = int(state["epoch"])
        if "rng" in state:
            torch.set_rng_state(state["rng"])
        else:  # checkpoints from before resuming existed: a fresh but reproducible shuffle
            torch.manual_seed(args.seed + done)
        print(f"resumed from checkpoint.pt at epoch {done}")
        if done >= args.epochs:
            print(f"the checkpoint already has {done} epochs (--epochs={args.epochs}): nothing to train")

    started = time.time()
    val_loss, val_acc = evaluate(model, loss_fn, x_val, y_val)
    epoch = done
    while epoch < args.epochs and not stop:
        epoch += 1
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
            "args": dict(vars(args), hidden=hidden),
            "rng": torch.get_rng_state(),
        })

    metrics = {"epochs": epoch, "resumed_from_epoch": done, "val_loss": val_loss, "val_acc": val_acc,
               "seconds": round(time.time() - started, 3)}
    stopped = bool(stop) and epoch < args.epochs  # a stop during the last epoch still completes
    if stopped:
        metrics["stopped_by"] = stop.signal_name
    write_json(os.path.join(args.train_url, "metrics.json"), metrics)
    if stopped:
        print(f"stopped by {stop.signal_name} at epoch {epoch}")
        return 128 + signal.Signals[stop.signal_name].value  # 143 for SIGTERM, 130 for SIGINT
    print(f"saved checkpoint to {checkpoint} (validation accuracy {val_acc:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
