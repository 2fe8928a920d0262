"""The loopback test bed shared by tests/ and bench/ (not shipped): all on 127.0.0.1, bounded.

* ``wheels``: ``make_wheel``, ``make_sdist``, ``make_backend_wheel``, ``standard_packages``
  (the default file set, see ``StandardPackages``), ``normalize``.
* ``upstream``: ``Upstream(files_dir)``, a PEP 503 index standing in for pypi.org.
* ``nexus_double``: ``NexusDouble(upstream_url, repository="pypi-proxy")``, a Nexus 3 PyPI
  proxy with switchable faults and an extension hook for REST handlers (``nexus_admin``).
* ``httpbase``: ``LoopbackServer``, ``Response``, ``HangingListener``, ``fetch``,
  ``closed_url``, ``port_is_open``.
* ``installers``: ``isolated_env``, ``Venv``, ``VenvFactory``, ``make_venv``, ``tool``, ``run``,
  ``alias_host_env``, ``aliased_url``.

Fixtures live in tests/conftest.py: ``packages``, ``packages_dir``, ``upstream``, ``nexus``,
``hanging_listener``, ``isolated_env``, ``venv_factory``, ``venv``.
"""
