"""How much the upstream may make this client hold: caps on what GigaChat, or whatever answers in its place (a
broken proxy, a hostile endpoint), sends back. Each is far above any real answer. Past one, the call ends with a
typed error that names the cap: StreamError for a stream (with the text handed out so far), APIError otherwise
(AuthenticationError for a token answer).

Sizes of real answers, for scale: a model's context bounds its answer (128k tokens for GigaChat-2-Max), about
0.5 M characters, so at most 3 MB of JSON even with every character written as a \\uXXXX escape. The largest
real stream event is v2's final one, which may repeat a whole answer or a function call's arguments; a stream
delta is a few hundred bytes.

======================  ================  ==================================================================
cap                     value             what it bounds
======================  ================  ==================================================================
MAX_EVENT_BYTES         8 MiB             one server-sent event, and so any line of it, after decompression:
                                          the bytes of an unfinished event, all that a stream buffers
MAX_STREAM_CHARS        4 Mi characters   answer text plus reasoning of one stream, kept for .partial_text
                                          (8 MiB of Cyrillic text, 16 MiB at worst, as Python strings)
MAX_STREAM_ITEMS        10,000            generated files plus web sources noted by one stream
MAX_BODY_BYTES          32 MiB            a JSON answer (chat, models, embeddings, file lists), decompressed
MAX_FILE_BYTES          64 MiB            a downloaded file (the service stores at most 40 MB per file)
MAX_TOKEN_BODY_BYTES    64 KiB            an OAuth answer (a token is about 2 KB)
MAX_ERROR_BODY_BYTES    64 KiB            read of an error answer; the rest is ignored (only its message is used)
DECODE_PIECE_BYTES      64 KiB            the most one gzip/deflate step may produce, so a body compressed
                                          1000:1 (a "zip bomb") grows memory by this much per step, not 64 MB
======================  ================  ==================================================================

A body is decompressed here, not by httpx: httpx inflates each network read whole, and one 64 KiB read of a
gzip bomb is 64 MiB. Only gzip and deflate are asked for (Accept-Encoding) and accepted.
"""

from __future__ import annotations

__all__ = ["DECODE_PIECE_BYTES", "MAX_BODY_BYTES", "MAX_ERROR_BODY_BYTES", "MAX_EVENT_BYTES", "MAX_FILE_BYTES",
           "MAX_STREAM_CHARS", "MAX_STREAM_ITEMS", "MAX_TOKEN_BODY_BYTES", "size_text"]

KIB = 1024
MIB = 1024 * KIB

MAX_EVENT_BYTES = 8 * MIB
MAX_STREAM_CHARS = 4 * MIB
MAX_STREAM_ITEMS = 10_000
MAX_BODY_BYTES = 32 * MIB
MAX_FILE_BYTES = 64 * MIB
MAX_TOKEN_BODY_BYTES = 64 * KIB
MAX_ERROR_BODY_BYTES = 64 * KIB
DECODE_PIECE_BYTES = 64 * KIB


def size_text(size: int) -> str:
    """A cap as people read it: '8 MiB', '64 KiB'."""
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size} bytes"
