"""An `Answerer` on Amazon Bedrock's Converse API (any text model that Converse supports)."""

from __future__ import annotations

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


class BedrockAnswerer:
    name = "bedrock"

    def __init__(self, client: Any, model_id: str, *, max_tokens: int = 512) -> None:
        self._client = client
        self._model_id = model_id
        self._max_tokens = max_tokens

    def answer(self, question: str, passages: Sequence[Passage]) -> Answer:
        from botocore.exceptions import BotoCoreError, ClientError

        if not passages:
            return not_enough_information(self.name)
        try:
            response = self._client.converse(
                modelId=self._model_id,
                system=[{"text": SYSTEM_PROMPT}],
                messages=[{"role": "user", "content": [{"text": user_prompt(question, passages)}]}],
                inferenceConfig={"maxTokens": self._max_tokens, "temperature": 0.0},
            )
        except (ClientError, BotoCoreError) as error:
            raise AnswererUnavailable("Bedrock converse failed") from error
        try:
            blocks = response["output"]["message"]["content"]
            text = "".join(block["text"] for block in blocks if "text" in block)
        except (KeyError, TypeError) as error:
            raise AnswererUnavailable("Bedrock converse response is not in the expected format") from error
        return answer_from_generation(text, passages, self.name)
