"""Data-parallel training of the digits classifier across several nodes with PyTorch DDP (gloo, CPU).

Every node (container) of a ModelArts job runs this same script; the platform tells each one where
it stands through environment variables:

    VC_TASK_INDEX    this node's rank (0, 1, ...)
    VC_WORKER_NUM    number of nodes (MA_NUM_HOSTS as a fallback), the world size
    VC_WORKER_HOSTS  comma-separated host names of all nodes; the first one is the master

Rank 0 hosts the rendezvous (a TCPStore) on --master_port of the first host. A peer's host name
only resolves once its container has started, so the master's name is looked up again every second
for up to --connect_timeout seconds; after that, every rank must join within --timeout seconds.
--timeout is also the gloo timeout of every collective: if a node dies or hangs, the others fail
within that time (exit code 1) instead of waiting forever.

Without those variables the script trains alone (world size 1), which is handy for a quick check:

    python train.py --train_url=./out --epochs=3
"""
import argparse
import datetime
import fcntl
import gzip
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler


def topology():
    """(rank, world size, master host) from the ModelArts variables."""
    hosts = [h.strip() for h in os.environ.get("VC_WORKER_HOSTS", "").split(",") if h.strip()]
    world_size = int(os.environ.get("VC_WORKER_NUM") or os.environ.get("MA_NUM_HOSTS") or 1)
    rank = int(os.environ.get("VC_TASK_INDEX") or 0)
    if not 0 <= rank < world_size:
        raise SystemExit(f"VC_TASK_INDEX={rank} is outside a world of {world_size} nodes")
    if world_size > 1 and not hosts:
        raise SystemExit(f"{world_size} nodes but no VC_WORKER_HOSTS to find the master")
    return rank, world_size, hosts[0] if hosts else "127.0.0.1"


def parse_args(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description="distributed digits classifier")
    parser.add_argument("--data_url", default=os.path.join(here, "data"),
                        help="folder holding digits.csv.gz (or the file itself)")
    parser.add_argument("--train_url", default=os.path.join(here, "output"),
                        help="folder rank 0 writes the checkpoint and metrics to")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--batch_size", type=int, default=64, help="per node")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--master_port", type=int, default=29500)
    parser.add_argument("--connect_timeout", type=float, default=60,
                        help="seconds to wait for the master's host name to resolve")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds to wait for all ranks to join, and for any collective")
    args, unknown = parser.parse_known_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if unknown:
        print(f"ignoring unknown arguments: {' '.join(unknown)}")
    return args


def resolve(host, seconds):
    """The IPv4 address of host, retried while the peer's container is not up yet."""
    deadline = time.monotonic() + seconds
    waiting = False
    while True:
        try:
            return socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
        except socket.gaierror as error:
            if time.monotonic() >= deadline:
                raise RuntimeError(f"could not resolve the master {host} within {seconds:g} s: {error}") from None
            if not waiting:
                print(f"waiting for the master {host} to come up ({error.strerror})", flush=True)
                waiting = True
            time.sleep(1)


def interface_towards(ip):
    """Name of the network interface that routes to ip (None if unknown). Gloo otherwise uses the
    address this host's own name resolves to, which on some hosts is a loopback one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((ip, 9))  # UDP: nothing is sent, it only picks the route
            local = probe.getsockname()[0]
            for _, name in socket.if_nameindex():
                try:
                    request = struct.pack("256s", name.encode()[:15])
                    address = socket.inet_ntoa(fcntl.ioctl(probe.fileno(), 0x8915, request)[20:24])  # SIOCGIFADDR
                except OSError:
                    continue
                if address == local:
                    return None if address.startswith("127.") else name
    except OSError:
        pass
    return None


def load_digits(data_url):
    path = os.path.join(data_url, "digits.csv.gz") if os.path.isdir(data_url) else data_url
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    return torch.from_numpy(table[:, :-1] / 16.0), torch.from_numpy(table[:, -1].astype(np.int64))


def split(features, labels, seed, validation=0.2):
    # The same permutation on every rank (and as in examples/digits), so all agree on the split.
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(labels)))
    cut = int(len(labels) * (1 - validation))
    return (features[order[:cut]], labels[order[:cut]]), (features[order[cut:]], labels[order[cut:]])


def atomic_write(path, write):
    tmp = path + ".tmp"
    write(tmp)
    os.replace(tmp, path)


def train(args, rank, world_size, master):
    if world_size > 1 and "GLOO_SOCKET_IFNAME" not in os.environ:
        ifname = interface_towards(master)
        if ifname:
            os.environ["GLOO_SOCKET_IFNAME"] = ifname
    timeout = datetime.timedelta(seconds=args.timeout)

    def give_up():  # init_process_group alone could wait twice the timeout (store, then gloo)
        print(f"rank {rank} failed: not all {world_size} nodes joined within {args.timeout:g} s", flush=True)
        os._exit(1)
    watchdog = threading.Timer(args.timeout, give_up)
    watchdog.daemon = True
    watchdog.start()
    dist.init_process_group(backend="gloo", init_method=f"tcp://{master}:{args.master_port}",
                            world_size=world_size, rank=rank, timeout=timeout)
    watchdog.cancel()
    print(f"rank {rank} joined: master {master}:{args.master_port}, "
          f"interface {os.environ.get('GLOO_SOCKET_IFNAME', 'default')}, timeout {args.timeout:g} s")

    torch.manual_seed(args.seed)  # identical initial weights everywhere (DDP also broadcasts rank 0's)
    features, labels = load_digits(args.data_url)
    (x_train, y_train), (x_val, y_val) = split(features, labels, args.seed)
    dataset = TensorDataset(x_train, y_train)
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)
    if rank == 0:
        print(f"digits: {len(y_train)} training samples ({len(sampler)} per rank) and {len(y_val)} validation")

    model = nn.Sequential(
        nn.Linear(64, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, 10),
    )
    ddp = DistributedDataParallel(model)  # CPU: no device_ids
    optimizer = torch.optim.Adam(ddp.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    checkpoint = os.path.join(args.train_url, "checkpoint.pt")
    if rank == 0:
        os.makedirs(args.train_url, exist_ok=True)

    started = time.time()
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)
        ddp.train()
        totals = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, samples
        for xb, yb in loader:
            logits = ddp(xb)
            loss = loss_fn(logits, yb)
            optimizer.zero_grad()
            loss.backward()  # DDP averages the gradients of all ranks here
            optimizer.step()
            totals += torch.tensor([loss.item() * len(yb), (logits.argmax(1) == yb).sum().item(), len(yb)],
                                   dtype=torch.float64)
        dist.all_reduce(totals)  # training loss and accuracy over all ranks' shards
        train_loss, train_acc = (totals[0] / totals[2]).item(), (totals[1] / totals[2]).item()
        model.eval()
        with torch.no_grad():  # the replicas are identical: each rank could do this, rank 0 reports
            logits = model(x_val)
            val_loss = loss_fn(logits, y_val).item()
            val_acc = (logits.argmax(1) == y_val).float().mean().item()
        if rank == 0:
            print(f"epoch {epoch} loss {train_loss:.4f} acc {train_acc:.4f} val_loss {val_loss:.4f} val_acc {val_acc:.4f}")
            # Same layout as examples/digits' checkpoint, which can therefore continue from it.
            state = {"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "args": vars(args), "world_size": world_size}
            atomic_write(checkpoint, lambda tmp: torch.save(state, tmp))

    seconds = round(time.time() - started, 3)
    if rank == 0:
        metrics = {"epochs": args.epochs, "world_size": world_size, "val_loss": val_loss, "val_acc": val_acc,
                   "seconds": seconds}

        def write_metrics(tmp):
            with open(tmp, "w") as f:
                json.dump(metrics, f, indent=2)
        atomic_write(os.path.join(args.train_url, "metrics.json"), write_metrics)
        print(f"saved checkpoint to {checkpoint} ({args.epochs} epochs in {seconds} s, validation accuracy {val_acc:.4f})")
    dist.barrier()  # nobody leaves (and takes the rendezvous store down) before rank 0 has saved
    dist.destroy_process_group()


def main(argv=None):
    rank, world_size, master_host = topology()
    print(f"world_size={world_size} rank={rank} backend=gloo")

    def on_sigterm(signum, frame):
        # A stopped job: peers get SIGTERM too, so there is nothing to coordinate; leave at once.
        print(f"rank {rank} stopped by SIGTERM", flush=True)
        os._exit(143)
    signal.signal(signal.SIGTERM, on_sigterm)

    args = parse_args(argv)
    try:
        master = resolve(master_host, args.connect_timeout)
        if master_host != master:
            print(f"master {master_host} is {master}")
        train(args, rank, world_size, master)
    except Exception as error:
        # A peer that died or timed out: report and leave without the interpreter's shutdown, which
        # could block on the broken process group.
        traceback.print_exc()
        print(f"rank {rank} failed: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
              flush=True)
        sys.stderr.flush()
        os._exit(1)
    print(f"rank {rank} done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
