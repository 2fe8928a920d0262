"""The loopback test bed shared by tests/ and bench/ (not shipped): all on 127.0.0.1, bounded.

* ``wheels``: ``make_wheel``, ``make_sdist``, ``make_backend_wheel``, ``standard_packages``
  (the default file set, see ``StandardPackages``), ``normalize``.
* ``upstream``: ``Upstream(files_dir)``, a PEP 503 index standing in for pypi.org.
* ``nexus_double``: ``NexusDouble(upstream_url, repository="pypi-proxy")``, a Nexus 3 PyPI
  proxy with switchable faults and an extension hook for REST handlers (``nexus_admin``);
  ``cooperation``: its proxy cooperation (concurrent misses for one asset share one fetch).
* ``httpbase``: ``LoopbackServer``, ``Response``, ``HangingListener``, ``fetch``,
  ``closed_url``, ``port_is_open``.
* ``installers``: ``isolated_env``, ``Venv``, ``VenvFactory``, ``make_venv``, ``tool``, ``run``,
  ``alias_host_env``, ``aliased_url``.
* ``proxies``: ``DeadProxy`` (what ``HTTPS_PROXY`` points at: counts every bypass), ``proxy_env``.
* ``commands``: ``run`` (a report row, never an exception), ``pipnexus_configure`` (the real CLI).
* ``leakaudit``, ``leakmore``: the installer leak audit's cases; ``leakrun``: ``make_bed`` and
  ``run_case``; ``netns``: a network namespace with only loopback, a DNS stub and strace.
* ``pbs``: python-build-standalone releases in miniature (uv accepts them); ``interpreters``:
  the interpreter part of the egress benchmark; ``relay``: a byte-counting TCP relay.
  (``python -m bench.leaks`` reports every case; tests/test_leaks.py runs the quick ones).
* ``docker_connector``: a Nexus Docker connector (``/v2/`` and its token realm).
* ``registry``: the real ``distribution`` registry (``docker-registry``) as a plain registry, a
  pull-through cache or with htpasswd, and tiny OCI images pushed into it with ``skopeo``;
  ``runtimes``: the real containerd and dockerd pulling through it, in a network namespace.
* ``thirdparty``: finds the optional corpus beside the repository, and skips with the reason.

The direction is one way: tests/ and bench/ import ``testbed``; ``testbed`` imports neither
(tests/test_repo_hygiene.py checks it).

Fixtures live in tests/conftest.py: ``packages``, ``packages_dir``, ``upstream``, ``nexus``,
``hanging_listener``, ``isolated_env``, ``venv_factory``, ``venv``.
"""
