"""Prompt template sets, selectable per suite (README: "Prompt templates").

- `llamune` (ours): a system prompt, the few-shot examples as earlier chat turns, a short Japanese instruction.
- `llm-jp-eval`: llm-jp-eval's published layout, so scores can stand beside its leaderboard: one user message
  with its fixed preamble, then `### 指示:` (the task's instruction), four examples as `### 入力:` / `### 応答:`
  pairs, and the item's `### 入力:` ending in an open `### 応答:`. The instructions are ours, asking for exactly
  what llm-jp-eval's ask for (the bare label, index or number).

Each benchmark binds both sets in its own file; this module holds what they share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from llamune_eval.types import Message

Template = Literal["llamune", "llm-jp-eval"]
TEMPLATES: tuple[Template, ...] = ("llamune", "llm-jp-eval")
LLMJP_SHOTS = 4  # llm-jp-eval's default number of few-shot examples
LLMJP_PREAMBLE = "以下は、タスクを説明する指示と、文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。"


@dataclass(frozen=True)
class Shot:
    """One worked example: the task's input text and the answer expected for it."""

    input: str
    output: str


def llmjp_prompt(instruction: str, shots: list[Shot], text: str) -> str:
    """One llm-jp-eval-style prompt: preamble, instruction, examples, then the item with an open answer."""
    parts = [LLMJP_PREAMBLE, f"### 指示:\n{instruction}"]
    parts += [f"### 入力:\n{s.input}\n### 応答:\n{s.output}" for s in shots]
    parts.append(f"### 入力:\n{text}\n### 応答:\n")
    return "\n\n".join(parts)


def chat_shots(shots: list[tuple[str, str]]) -> list[Message]:
    """Our template's examples: each a user turn and the assistant's answer."""
    out: list[Message] = []
    for prompt, answer in shots:
        out += [Message(role="user", content=prompt), Message(role="assistant", content=answer)]
    return out


def version(base: str, template: Template, shots: int) -> str:
    """The prompt's version: it keys stored samples, so the two sets never mix."""
    prefix = "" if template == "llamune" else "llmjp-"
    return f"{prefix}{base}-{shots}shot"
