"""Fixed-window counters in the cache: posts to public forms, and failed staff sign-ins."""

from django.core.cache import cache


def allow(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt for key; False once it has had more than limit in this window."""
    cache_key = f"throttle:{key}"
    if cache.add(cache_key, 1, timeout=window_seconds):
        return True
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window_seconds)
        return True
    return count <= limit


def failures(key: str) -> int:
    """How many failures have been recorded for key in its current window."""
    return int(cache.get(f"failures:{key}", 0))


def record_failure(key: str, *, window_seconds: int) -> int:
    """Count one failure for key; the count so far in this window."""
    cache_key = f"failures:{key}"
    if cache.add(cache_key, 1, timeout=window_seconds):
        return 1
    try:
        return cache.incr(cache_key)
    except ValueError:
        cache.set(cache_key, 1, timeout=window_seconds)
        return 1
