"""The keys of the stevehipwell/nexus3 chart's values, as of the chart version below.

The package carries its own copy (users have no chart checkout); a test compares it with the
real chart's ``values.yaml`` (``stevehipwell/helm-charts: charts/nexus3/values.yaml``) when that
is available. Standard library only.
"""

from __future__ import annotations

CHART_VERSION = "5.25.1"

# top-level keys of charts/nexus3/values.yaml
CHART_KEYS = frozenset(
    (
        "image",
        "bashImage",
        "jdkImage",
        "imagePullSecrets",
        "nameOverride",
        "fullnameOverride",
        "commonLabels",
        "serviceAccount",
        "service",
        "ingress",
        "httpRoute",
        "replicas",
        "updateStrategy",
        "ordinals",
        "podManagementPolicy",
        "minReadySeconds",
        "podDisruptionBudget",
        "podLabels",
        "podAnnotations",
        "automountServiceAccountToken",
        "podSecurityContext",
        "initNonRootSecurityContext",
        "initRootSecurityContext",
        "priorityClassName",
        "terminationGracePeriodSeconds",
        "securityContext",
        "env",
        "startupProbe",
        "livenessProbe",
        "readinessProbe",
        "persistence",
        "extraVolumes",
        "extraVolumeMounts",
        "resources",
        "initResources",
        "extraInitContainers",
        "nodeSelector",
        "affinity",
        "topologySpreadConstraints",
        "tolerations",
        "metrics",
        "license",
        "properties",
        "storeProperties",
        "logback",
        "tailLogs",
        "install4jAddVmParams",
        "caCerts",
        "plugins",
        "chownDataDir",
        "rootPassword",
        "config",
        "manualMaintenanceMode",
        "testResources",
    )
)
# not in values.yaml, but read by Helm itself for every chart
HELM_KEYS = frozenset(("global",))

# keys of config: in values.yaml
CONFIG_KEYS = frozenset(
    (
        "enabled",
        "job",
        "anonymous",
        "realms",
        "createDefaultBlobStore",
        "blobStores",
        "cleanup",
        "repoCredentials",
        "repos",
        "privileges",
        "roles",
        "users",
        "ldap",
        "tasks",
    )
)
# config keys that mark a block as the chart's config (a misplaced copy is recognised by them)
CONFIG_MARKERS = CONFIG_KEYS - {"repoCredentials"}
# rootPassword is no config key since chart 4.19, but the linter explains it there
CONFIG_ALL_KEYS = CONFIG_KEYS | {"rootPassword"}
ROOT_PASSWORD_KEYS = ("secret", "key")
# chart settings people put at the top level although the chart reads them under config
CONFIG_AT_TOP = ("repos", "blobStores", "anonymous", "realms", "createDefaultBlobStore")
