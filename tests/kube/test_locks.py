"""One lock per key: decisions that count a Safe's grants run one at a time per Safe (two at once could
both take the last place), decisions for other Safes do not wait."""

import threading
import time

from strongroom.kube.locks import KeyedLocks


def overlaps(locks: KeyedLocks, keys: list[str]) -> int:
    """Run one 50 ms critical section per key at once; return the most that were inside together."""
    inside, most, count = threading.Lock(), [0], [0]

    def work(key: str) -> None:
        with locks.lock(key):
            with inside:
                count[0] += 1
                most[0] = max(most[0], count[0])
            time.sleep(0.05)
            with inside:
                count[0] -= 1

    threads = [threading.Thread(target=work, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return most[0]


def test_steps_of_one_key_never_overlap() -> None:
    assert overlaps(KeyedLocks(), ["grant-a"] * 4) == 1


def test_steps_of_different_keys_run_together() -> None:
    assert overlaps(KeyedLocks(), ["grant-a", "grant-b", "grant-c"]) == 3


def test_a_busy_lock_is_seen_and_an_unused_one_is_dropped() -> None:
    locks = KeyedLocks()
    held = locks.lock("grant-a")
    with held:
        assert not locks.lock("grant-a").acquire(blocking=False)
    assert len(locks) == 1
    del held
    assert len(locks) == 0
