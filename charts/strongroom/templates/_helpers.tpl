{{/* The chart's name, overridable. */}}
{{- define "strongroom.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name. A release named `strongroom` gives the names the docs use
(strongroom-operator, strongroom-requester, ...); another release gets <release>-strongroom-*.
*/}}
{{- define "strongroom.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "strongroom.selectorLabels" -}}
app.kubernetes.io/name: {{ include "strongroom.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "strongroom.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "strongroom.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "strongroom.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "strongroom.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "strongroom.webhookServiceName" -}}
{{- printf "%s-webhook" (include "strongroom.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The leader Lease: the operator's --lease-name, and the fence policy's parameter. */}}
{{- define "strongroom.leaseName" -}}
{{- .Values.leaderElection.leaseName }}
{{- end }}

{{/*
cert-manager's serving certificate: not the Secret the operator shares between replicas by default
(strongroom-webhook-tls), which a switch between the modes would otherwise find in its way.
*/}}
{{- define "strongroom.webhookCertSecretName" -}}
{{- printf "%s-webhook-serving" (include "strongroom.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Where the serving certificate is mounted when cert-manager makes it. */}}
{{- define "strongroom.webhookCertDir" -}}
/var/run/strongroom/webhook
{{- end }}

{{/* Where the CA of the API server's client certificate is mounted (webhook.clientCA). */}}
{{- define "strongroom.webhookClientCADir" -}}
/var/run/strongroom/webhook-client-ca
{{- end }}

{{/* cert-manager's CA injector fills in the CA bundle from the webhook's Certificate. */}}
{{- define "strongroom.webhookAnnotations" -}}
{{- if .Values.webhook.certManager.enabled -}}
annotations:
  cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "strongroom.webhookServiceName" .) }}
{{- else -}}
annotations: {}
{{- end -}}
{{- end }}

{{/*
How the operator serves its webhook: the Service's names go into the certificate it shares between
replicas, or cert-manager's certificate is mounted; with a client CA, only the API server is answered.
*/}}
{{- define "strongroom.webhookArgs" -}}
- --webhook-listen=0.0.0.0:{{ .Values.webhook.port }}
- --webhook-service={{ .Release.Namespace }}/{{ include "strongroom.webhookServiceName" . }}
{{- if .Values.webhook.certManager.enabled }}
- --webhook-cert-dir={{ include "strongroom.webhookCertDir" . }}
{{- end }}
{{- if include "strongroom.webhookClientCA" . }}
- --webhook-client-ca={{ include "strongroom.webhookClientCADir" . }}/ca.crt
{{- end }}
{{- end }}

{{/* The volume source of the client CA (a Secret or a ConfigMap), or nothing. */}}
{{- define "strongroom.webhookClientCA" -}}
{{- with .Values.webhook.clientCA -}}
{{- if and .secretName .configMapName -}}
{{- fail "webhook.clientCA: give secretName or configMapName, not both" -}}
{{- else if .secretName -}}
secret:
  secretName: {{ .secretName }}
  items:
    - key: {{ .key }}
      path: ca.crt
{{- else if .configMapName -}}
configMap:
  name: {{ .configMapName }}
  items:
    - key: {{ .key }}
      path: ca.crt
{{- end -}}
{{- end -}}
{{- end }}

{{/*
Leader election, refusing timings the operator would refuse at start (it needs retry period < renew
deadline < lease duration), so a bad value fails the install instead of every replica.
*/}}
{{- define "strongroom.leaderElectionArgs" -}}
{{- with .Values.leaderElection -}}
{{- if not (and (lt (int .retryPeriodSeconds) (int .renewDeadlineSeconds)) (lt (int .renewDeadlineSeconds) (int .leaseDurationSeconds))) -}}
{{- fail "leaderElection: needs retryPeriodSeconds < renewDeadlineSeconds < leaseDurationSeconds" -}}
{{- end -}}
- --leader-elect
- --lease-name={{ .leaseName }}
- --lease-duration={{ .leaseDurationSeconds }}s
- --renew-deadline={{ .renewDeadlineSeconds }}s
- --retry-period={{ .retryPeriodSeconds }}s
{{- end -}}
{{- end }}

{{/* The operator's ServiceAccount as an RBAC subject. */}}
{{- define "strongroom.operatorSubject" -}}
- kind: ServiceAccount
  name: {{ include "strongroom.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}
