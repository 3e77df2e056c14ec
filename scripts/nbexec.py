"""Execute one notebook headless with nbclient and report the first failing cell (used by scripts/notebooks.js).

usage: python3 nbexec.py <spec.json>
spec: {"input": path, "output": path, "result": path, "cwd": dir, "kernel": name, "timeout": seconds,
       "html": path or null, "settle_ms": n}

A cell fails when the kernel replies with status "error" (tslab: compile errors and thrown or rejected awaits, which
it prints to stderr instead of sending an error message) or when its outputs contain tslab's markers for errors that
escaped a cell ("UncaughtException:", "UnhandledPromiseRejection:"). Such late errors surface in the output of
whichever cell runs next, so a settle cell that only waits is appended to catch the ones thrown by the last cell.
An error thrown between two cells goes to the finished cell's output, which nbclient no longer reads (a loaded
machine widens that gap): a hidden first cell records every escaped error in the kernel, and the settle cell prints
those recorded before it started.
The executed notebook (hidden cells removed) is written to "output"; a JSON summary to "result".
"""
import copy
import json
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

ASYNC_MARKERS = ("UncaughtException:", "UnhandledPromiseRejection:")
SETTLE_TAG = "fer-lab-settle"
SETUP_TAG = "fer-lab-setup"
HIDDEN_TAGS = (SETUP_TAG, SETTLE_TAG)
# tslab keeps top-level declarations between cells; the listeners run beside tslab's own (which print the markers).
SETUP_SOURCE = """const ferLabRunnerEscapedErrors: Array<{ at: number; text: string }> = [];
process.on('unhandledRejection', (reason) => {
  ferLabRunnerEscapedErrors.push({ at: Date.now(), text: `UnhandledPromiseRejection: ${reason instanceof Error ? reason.stack : String(reason)}` });
});
process.on('uncaughtException', (err) => {
  ferLabRunnerEscapedErrors.push({ at: Date.now(), text: `UncaughtException: ${err.stack ?? String(err)}` });
});"""
# Errors recorded before this cell started escaped between cells; later ones tslab prints here itself.
SETTLE_SOURCE = """{
  const settleStart = Date.now();
  const missed = ferLabRunnerEscapedErrors.filter((e) => e.at < settleStart);
  if (missed.length) console.error(missed.map((e) => e.text).join('\\n'));
}
await new Promise((resolve) => setTimeout(resolve, %d));"""
# Marks the div of a chart made by fer-lab's viz/plotly.ts (plotlyHtml).
PLOTLY_MARK = 'id="fer-plot-'


def output_text(out):
    if out.get("output_type") == "stream":
        return out.get("text", "")
    if out.get("output_type") == "error":
        return "\n".join(out.get("traceback", [])) or "%s: %s" % (out.get("ename"), out.get("evalue"))
    return ""


def stderr_text(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stderr")


def is_plotly(out):
    return out.get("output_type") == "display_data" and PLOTLY_MARK in out.get("data", {}).get("text/html", "")


def drop_static_twins(nb):
    """For the HTML export: a Plotly chart is followed by its static PNG copy (for front ends that do not run
    scripts); a browser runs the inlined plotly.js, so the copy would only show every chart twice."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        outs = cell.get("outputs", [])
        keep = []
        for i, out in enumerate(outs):
            twin = (i > 0 and is_plotly(outs[i - 1]) and out.get("output_type") == "display_data"
                    and set(out.get("data", {})) <= {"image/png", "text/plain"})
            if not twin:
                keep.append(out)
        cell["outputs"] = keep
    return nb


def main():
    spec = json.load(open(sys.argv[1]))
    nb = nbformat.read(spec["input"], as_version=4)
    settle = nbformat.v4.new_code_cell(SETTLE_SOURCE % spec.get("settle_ms", 500), metadata={"tags": [SETTLE_TAG]})
    nb.cells.insert(0, nbformat.v4.new_code_cell(SETUP_SOURCE, metadata={"tags": [SETUP_TAG]}))
    nb.cells.append(settle)
    replies = {}

    def on_cell_executed(cell, cell_index, execute_reply):
        replies[cell_index] = execute_reply

    client = NotebookClient(
        nb,
        kernel_name=spec["kernel"],
        timeout=spec["timeout"],
        allow_errors=True,
        record_timing=True,
        resources={"metadata": {"path": spec["cwd"]}},
        on_cell_executed=on_cell_executed,
    )
    result = {"ok": True, "cells": [], "failure": None}
    started = time.time()
    code_number = 0
    last_code = (-1, settle)
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                shown_index = index - 1  # the index in the user's notebook (the setup cell is first)
                if cell.cell_type != "code":
                    continue
                tags = cell.metadata.get("tags", [])
                is_settle = SETTLE_TAG in tags
                is_hidden = any(t in tags for t in HIDDEN_TAGS)
                if not is_hidden:
                    code_number += 1
                t0 = time.time()
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    result["failure"] = {"kind": "timeout", "index": shown_index, "number": code_number,
                                         "source": cell.source,
                                         "error": "cell did not finish within %s s" % spec["timeout"]}
                    break
                seconds = time.time() - t0
                reply = replies.get(index) or {}
                status = reply.get("content", {}).get("status", "ok")
                text = "".join(output_text(o) for o in cell.get("outputs", []))
                marker = next((m for m in ASYNC_MARKERS if m in text), None)
                if not is_hidden:
                    last_code = (shown_index, cell)
                    result["cells"].append({"number": code_number, "index": shown_index, "seconds": round(seconds, 2)})
                if status != "ok":
                    result["failure"] = {"kind": "error", "index": shown_index, "number": code_number,
                                         "source": cell.source,
                                         "error": stderr_text(cell) or text or "kernel reported status %s" % status}
                    break
                if marker:
                    where = ("after the last cell ran" if is_settle else "while this cell ran")
                    shown = last_code if is_settle else (shown_index, cell)
                    result["failure"] = {"kind": "async", "index": shown[0], "number": code_number,
                                         "afterLast": is_settle, "source": shown[1].source,
                                         "error": "%s (a late error from an async task, reported %s; it may come "
                                                  "from an earlier cell):\n%s" % (marker, where, text)}
                    break
    except DeadKernelError as err:
        result["failure"] = {"kind": "dead", "index": -1, "number": code_number, "source": "",
                             "error": "the kernel died: %s" % err}
    except Exception as err:  # kernel failed to start, etc.
        result["failure"] = {"kind": "runner", "index": -1, "number": code_number, "source": "",
                             "error": "%s: %s" % (type(err).__name__, err)}
    result["ok"] = result["failure"] is None
    result["seconds"] = round(time.time() - started, 2)
    nb.cells = [c for c in nb.cells if not any(t in c.metadata.get("tags", []) for t in HIDDEN_TAGS)]
    nbformat.write(nb, spec["output"])
    if spec.get("html") and result["ok"]:
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter().from_notebook_node(drop_static_twins(nb))
        with open(spec["html"], "w", encoding="utf-8") as f:
            f.write(body)
    with open(spec["result"], "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
