"""An `Answerer` for OpenAI-compatible chat-completions servers (OpenAI, Ollama, vLLM, LM Studio).

Standard library HTTP only (no SDK in the layer). POST {base_url}/chat/completions with the system
rules and the quoted passages; the reply's first choice becomes the Answer.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from echo_retrieval.answering import (
    SYSTEM_PROMPT,
    Answer,
    AnswererUnavailable,
    Passage,
    answer_from_generation,
    not_enough_information,
    user_prompt,
)

MAX_RESPONSE_BYTES = 1 << 20


class OpenAICompatibleAnswerer:
    name = "openai"

    def __init__(
        self, base_url: str, model: str, *, api_key: str = "", timeout: float = 20.0, max_tokens: int = 512
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._api_key = api_key
        self._timeout = timeout
        self._max_tokens = max_tokens

    def answer(self, question: str, passages: Sequence[Passage]) -> Answer:
        if not passages:
            return not_enough_information(self.name)
        body = {
            "model": self._model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": user_prompt(question, passages)},
            ],
            "temperature": 0,
            "max_tokens": self._max_tokens,
            "stream": False,
        }
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        data = json.dumps(body).encode()
        request = urllib.request.Request(self._url, data=data, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                payload = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as error:
            raise AnswererUnavailable(f"chat completions answered HTTP {error.code}") from error
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise AnswererUnavailable("chat completions server unreachable or too slow") from error
        if len(payload) > MAX_RESPONSE_BYTES:
            raise AnswererUnavailable("chat completions response too large")
        return answer_from_generation(_content(payload), passages, self.name)


def _content(payload: bytes) -> str:
    try:
        data: Any = json.loads(payload)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise AnswererUnavailable("chat completions response is not in the expected format") from error
    if not isinstance(content, str):
        raise AnswererUnavailable("chat completions message content is not text")
    return content
