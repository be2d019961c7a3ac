"""Bare training loops in the lecture's shape: the stages' tensor operations with no records and no checks."""

from __future__ import annotations

import numpy as np
import torch


def numpy_loop(x, y, weights, learning_rate, epochs):
    """The NumPy stage's step, repeated; returns the last loss."""
    w1, w2 = weights["w1"], weights["w2"]
    for _ in range(epochs):
        h = x @ w1
        h_relu = np.maximum(h, 0)
        y_pred = h_relu @ w2
        loss = np.square(y_pred - y).sum()  # the lecture computes (and prints) the loss every epoch
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.T @ grad_y_pred
        grad_h_relu = grad_y_pred @ w2.T
        grad_h = grad_h_relu * (h > 0)
        grad_w1 = x.T @ grad_h
        w1 -= learning_rate * grad_w1
        w2 -= learning_rate * grad_w2
    return float(loss)


def tensor_loop(x, y, weights, learning_rate, epochs):
    """The tensor stage's step, repeated; returns the last loss."""
    w1, w2 = weights["w1"], weights["w2"]
    for _ in range(epochs):
        h = x.mm(w1)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(w2)
        loss = (y_pred - y).pow(2).sum().item()  # the lecture prints the loss every epoch, which waits for it
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.t().mm(grad_y_pred)
        grad_h_relu = grad_y_pred.mm(w2.t())
        grad_h = grad_h_relu * (h > 0)
        grad_w1 = x.t().mm(grad_h)
        w1 -= learning_rate * grad_w1
        w2 -= learning_rate * grad_w2
    return loss


def autograd_loop(x, y, weights, learning_rate, epochs):
    """The autograd stage's step, repeated; returns the last loss."""
    w1, w2 = weights["w1"].requires_grad_(), weights["w2"].requires_grad_()
    for _ in range(epochs):
        loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
        value = loss.item()
        w1.grad = None
        w2.grad = None
        loss.backward()
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad
    return value


def _model(weights):
    """The lecture's Sequential holding `weights` (nn.Linear keeps weight as (out, in), the transpose)."""
    d_in, hidden = weights["w1"].shape
    model = torch.nn.Sequential(
        torch.nn.Linear(d_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, weights["w2"].shape[1])
    )
    with torch.no_grad():
        model[0].weight.copy_(weights["w1"].t())
        model[0].bias.copy_(weights["b1"])
        model[2].weight.copy_(weights["w2"].t())
        model[2].bias.copy_(weights["b2"])
    return model


def nn_loop(x, y, weights, learning_rate, epochs):
    """The nn stage's step, repeated; returns the last loss."""
    model, loss_fn = _model(weights), torch.nn.MSELoss(reduction="sum")
    for _ in range(epochs):
        loss = loss_fn(model(x), y)
        value = loss.item()
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    return value


def optim_loop(x, y, weights, learning_rate, epochs):
    """The optim stage's step with Adam, repeated; returns the last loss."""
    model, loss_fn = _model(weights), torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    for _ in range(epochs):
        loss = loss_fn(model(x), y)
        value = loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return value


LOOPS = {"numpy": numpy_loop, "tensor": tensor_loop, "autograd": autograd_loop, "nn": nn_loop, "optim": optim_loop}


def minibatch_loop(step, take, x, y, batch_size, rng, epochs):
    """The lecture's loop over mini-batches: each epoch a fresh shuffle from `rng`, then `step(x_batch, y_batch)` on
    each slice of it in turn, nothing recorded; returns each epoch's loss, summed over its steps."""
    rows = len(x)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(rows)
        total = 0.0
        for start in range(0, rows, batch_size):
            index = order[start : start + batch_size]
            total += step(take(x, index), take(y, index))
        losses.append(total)
    return losses
