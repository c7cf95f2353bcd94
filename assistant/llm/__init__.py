"""Generated answers through any OpenAI-compatible chat-completions server, with citations kept honest.

- ``client``: the endpoint (``LLM``) and its failures (``LLMFailure``); the only importer of ``openai``.
- ``messages``: the answer prompt within the context window, and the follow-up rewriting prompt.
- ``markers``: ``[n]`` markers checked and renumbered while the answer streams, and the citations they make.
"""

from assistant.llm.client import LLM, LLMFailure, model_name
from assistant.llm.markers import Markers, cited, tidy
from assistant.llm.messages import AnswerPrompt, build_answer_prompt, condense_messages, passage_block, prompt

__all__ = ["LLM", "AnswerPrompt", "LLMFailure", "Markers", "build_answer_prompt", "cited", "condense_messages",
           "model_name", "passage_block", "prompt", "tidy"]
