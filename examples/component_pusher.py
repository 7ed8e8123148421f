#!/usr/bin/env python3
"""Example component pusher for echomon (Python standard library only).

It runs a small, real computation and pushes what that computation measures about itself to
an echomon agent's push API (POST /api/v1/push). The values are what THIS PROGRAM computes --
they describe this toy DTESN and Echo-Self loop, not any production system. Replace the
computation with your component and keep the pushing part.

What it computes, every step:

* DTESN (component "dtesn", pushed as Prometheus exposition text):
  - an echo state network: a reservoir of --reservoir tanh units with sparse random weights,
    rescaled to spectral radius --radius, driven by a Mackey-Glass time series;
    dtesn_reservoir_spectral_radius is re-estimated by power iteration on the weight matrix,
    dtesn_reservoir_state_norm is the L2 norm of the reservoir state;
  - a P system (nested membranes holding objects): each step every membrane's objects
    multiply by its rule; a membrane over its capacity divides (a child membrane is created
    inside it, at most 64 membranes), an empty one dissolves. dtesn_membrane_level is the deepest nesting level,
    dtesn_psystem_transitions_total counts rule applications (multiply, divide, dissolve),
    dtesn_membrane_evolution_rate is P-system steps per second of wall time.
* Echo-Self (component "echo-self", pushed as JSON): a genetic algorithm evolving the ESN's
  linear readout to predict the next input value.
  - evolution_convergence: fraction of the population whose fitness is within 5% of the best;
  - echo_self_fitness_improvement: relative change of the best fitness in the last generation
    (the previous best re-scored on this generation's data; >= 0 since the best survive);
  - echo_self_agent_performance: 1 - NRMSE of the best readout on held-out steps (0..1);
  - echo_self_generations_total: generations run.
* Embodied (component "embodied", JSON): sensory_motor_latency_ms is the measured wall time
  of this program's own sense -> decide -> act loop (read /proc/loadavg, run the readout,
  write the command to a file).

Usage:
  examples/component_pusher.py [--url http://127.0.0.1:9470] [--token T] [--interval 5]
                               [--count 0]
The token comes from --token, $ECHOMON_TOKEN, or <data_dir>/token (--token-file).
Exit status: 0 after --count pushes; 1 when a push is rejected (the agent's error is printed);
2 when the agent cannot be reached.
"""

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time
import urllib.error
import urllib.request


def mackey_glass(n, tau=17, seed=0.9):
    """The Mackey-Glass delay series (Euler, dt=1), a standard ESN benchmark input."""
    x = [seed] * (tau + 1)
    for _ in range(n):
        xt, xtau = x[-1], x[-1 - tau]
        x.append(xt + 0.2 * xtau / (1 + xtau ** 10) - 0.1 * xt)
    return [v - 0.9 for v in x[tau + 1:]]


class Reservoir:
    def __init__(self, size, radius, rng):
        self.size = size
        self.w = [[(rng.uniform(-1, 1) if rng.random() < 0.2 else 0.0) for _ in range(size)]
                  for _ in range(size)]
        self.w_in = [rng.uniform(-0.5, 0.5) for _ in range(size)]
        scale = radius / max(self.spectral_radius(), 1e-9)
        self.w = [[v * scale for v in row] for row in self.w]
        self.state = [0.0] * size

    def spectral_radius(self, iterations=60):
        """Power iteration on W: the growth rate of a random vector approaches |lambda_max|."""
        v = [1.0] * self.size
        growth = 0.0
        for _ in range(iterations):
            nv = [sum(row[j] * v[j] for j in range(self.size)) for row in self.w]
            norm = math.sqrt(sum(x * x for x in nv))
            if norm == 0:
                return 0.0
            growth = norm / math.sqrt(sum(x * x for x in v))
            v = [x / norm for x in nv]
        return growth

    def step(self, u):
        self.state = [math.tanh(self.w_in[i] * u +
                                sum(self.w[i][j] * self.state[j] for j in range(self.size)))
                      for i in range(self.size)]
        return self.state


class PSystem:
    """Nested membranes; each holds a count of objects and a multiplication rule."""

    def __init__(self, rng, capacity=64, max_membranes=64):
        self.rng = rng
        self.capacity = capacity
        self.max_membranes = max_membranes
        self.root = {"objects": 8, "rule": 1.3, "children": []}
        self.transitions = 0
        self.steps = 0

    def _evolve(self, m):
        m["objects"] = int(m["objects"] * m["rule"])
        self.transitions += 1
        if m["objects"] > self.capacity and self.count() < self.max_membranes:
            # divide: half the objects move into a new child membrane
            half = m["objects"] // 2
            m["objects"] -= half
            m["children"].append({"objects": half, "rule": self.rng.uniform(0.6, 1.25),
                                  "children": []})
            self.transitions += 1
        survivors = []
        for child in m["children"]:
            self._evolve(child)
            if child["objects"] == 0:  # dissolve: its children move up
                survivors.extend(child["children"])
                self.transitions += 1
            else:
                survivors.append(child)
        m["children"] = survivors

    def step(self):
        self._evolve(self.root)
        self.root["objects"] = min(max(self.root["objects"], 8), 4 * self.capacity)
        self.steps += 1

    def count(self, m=None):
        m = m or self.root
        return 1 + sum(self.count(c) for c in m["children"])

    def depth(self, m=None):
        m = m or self.root
        return 1 + max((self.depth(c) for c in m["children"]), default=0)


class Evolution:
    """Genetic algorithm over readout weight vectors; fitness = -MSE of one-step prediction."""

    def __init__(self, size, rng, population=16):
        self.rng = rng
        self.population = [[rng.gauss(0, 0.1) for _ in range(size)] for _ in range(population)]
        self.best = None
        self.generations = 0

    @staticmethod
    def predict(weights, state):
        return sum(w * s for w, s in zip(weights, state))

    def fitness(self, weights, states, targets):
        err = sum((self.predict(weights, s) - t) ** 2 for s, t in zip(states, targets))
        return -err / len(targets)

    def generation(self, states, targets):
        scored = sorted(((self.fitness(w, states, targets), w) for w in self.population),
                        key=lambda p: p[0], reverse=True)
        best_fitness = scored[0][0]
        # The previous best, judged on this generation's data, so the two are comparable.
        previous = self.fitness(self.best[1], states, targets) if self.best else None
        self.best = (best_fitness, scored[0][1])
        parents = [w for _, w in scored[:len(scored) // 2]]
        children = []
        while len(parents) + len(children) < len(self.population):
            a, b = self.rng.sample(parents, 2)
            children.append([(x if self.rng.random() < 0.5 else y) + self.rng.gauss(0, 0.02)
                             for x, y in zip(a, b)])
        self.population = parents + children
        self.generations += 1
        near = sum(1 for f, _ in scored if abs(f - best_fitness) <= 0.05 * abs(best_fitness))
        convergence = near / len(scored)
        improvement = 0.0
        if previous is not None and previous != 0:
            improvement = (best_fitness - previous) / abs(previous)
        return convergence, improvement


def push(url, token, component, body, content_type):
    query = "?component=" + component if content_type != "application/json" else ""
    request = urllib.request.Request(url.rstrip("/") + "/api/v1/push" + query,
                                     data=body.encode(), method="POST",
                                     headers={"Authorization": "Bearer " + token,
                                              "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def read_token(args):
    if args.token:
        return args.token
    if os.environ.get("ECHOMON_TOKEN"):
        return os.environ["ECHOMON_TOKEN"]
    if args.token_file:
        with open(args.token_file) as f:
            return f.readline().strip()
    sys.exit("component_pusher: no token (--token, $ECHOMON_TOKEN or --token-file)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:9470")
    parser.add_argument("--token")
    parser.add_argument("--token-file")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between pushes")
    parser.add_argument("--count", type=int, default=0, help="pushes before exiting; 0: forever")
    parser.add_argument("--reservoir", type=int, default=30)
    parser.add_argument("--radius", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    token = read_token(args)
    rng = random.Random(args.seed)

    series = mackey_glass(4000)
    reservoir = Reservoir(args.reservoir, args.radius, rng)
    psystem = PSystem(rng)
    evolution = Evolution(args.reservoir, rng)
    actuator = tempfile.NamedTemporaryFile("w", prefix="component_pusher_", delete=True)
    position, pushes, last_push = 0, 0, time.monotonic()
    while True:
        # DTESN: drive the reservoir with 50 input steps, evolve the P system as many times.
        states, targets = [], []
        for _ in range(50):
            state = reservoir.step(series[position % len(series)])
            states.append(list(state))
            targets.append(series[(position + 1) % len(series)])
            position += 1
            psystem.step()
        train, test = slice(0, 40), slice(40, 50)
        convergence, improvement = evolution.generation(states[train], targets[train])
        best = evolution.best[1]
        mse = -evolution.fitness(best, states[test], targets[test])
        variance = sum((t - sum(targets[test]) / 10) ** 2 for t in targets[test]) / 10
        performance = max(0.0, 1.0 - math.sqrt(mse / variance)) if variance > 0 else 0.0

        # Embodied: sense (/proc/loadavg), decide (readout), act (write the command).
        t0 = time.perf_counter()
        with open("/proc/loadavg") as f:
            load = float(f.read().split()[0])
        command = Evolution.predict(best, reservoir.step(min(load, 1.0)))
        actuator.seek(0)
        actuator.write("%.6f\n" % command)
        actuator.flush()
        latency_ms = (time.perf_counter() - t0) * 1000.0

        now = time.monotonic()
        evolution_rate = 50 / max(now - last_push, 1e-6)
        last_push = now
        text = (
            "# HELP dtesn_reservoir_spectral_radius Spectral radius of the reservoir weights.\n"
            "# TYPE dtesn_reservoir_spectral_radius gauge\n"
            "dtesn_reservoir_spectral_radius %.6f\n"
            "# HELP dtesn_reservoir_state_norm L2 norm of the reservoir state.\n"
            "# TYPE dtesn_reservoir_state_norm gauge\n"
            "dtesn_reservoir_state_norm %.6f\n"
            "# HELP dtesn_membrane_level Deepest membrane nesting level of the P system.\n"
            "# TYPE dtesn_membrane_level gauge\n"
            "dtesn_membrane_level %d\n"
            "# HELP dtesn_membrane_evolution_rate P-system evolution steps per second.\n"
            "# TYPE dtesn_membrane_evolution_rate gauge\n"
            "dtesn_membrane_evolution_rate %.6f\n"
            "# HELP dtesn_psystem_transitions_total P-system rule applications.\n"
            "# TYPE dtesn_psystem_transitions_total counter\n"
            "dtesn_psystem_transitions_total %d\n"
        ) % (reservoir.spectral_radius(), math.sqrt(sum(s * s for s in reservoir.state)),
             psystem.depth(), evolution_rate, psystem.transitions)
        echo_self = {"component": "echo-self",
                     "metrics": {"evolution_convergence": convergence,
                                 "echo_self_fitness_improvement": improvement,
                                 "echo_self_agent_performance": performance,
                                 "echo_self_generations_total": evolution.generations}}
        embodied = {"component": "embodied", "metrics": {"sensory_motor_latency_ms": latency_ms}}
        try:
            push(args.url, token, "dtesn", text, "text/plain; version=0.0.4")
            push(args.url, token, "echo-self", json.dumps(echo_self), "application/json")
            push(args.url, token, "embodied", json.dumps(embodied), "application/json")
        except urllib.error.HTTPError as e:
            print("component_pusher: push rejected: HTTP %d %s" % (e.code, e.read().decode()),
                  file=sys.stderr)
            return 1
        except (urllib.error.URLError, OSError) as e:
            print("component_pusher: cannot reach %s: %s" % (args.url, e), file=sys.stderr)
            return 2
        pushes += 1
        if args.count and pushes >= args.count:
            return 0
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
