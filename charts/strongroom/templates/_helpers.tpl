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

{{/* Where the serving certificate is mounted when cert-manager makes it. */}}
{{- define "strongroom.webhookCertDir" -}}
/var/run/strongroom/webhook
{{- end }}

{{/*
How the API server reaches one webhook endpoint: (list $ "<endpoint id>"). The same shape as the
operator's own (strongroom/webhooks.py by_url / by_service), so its apply at start only adds the CA.
*/}}
{{- define "strongroom.webhookClientConfig" -}}
{{- $root := index . 0 -}}
{{- $path := index . 1 -}}
{{- if $root.Values.webhook.url -}}
url: {{ printf "%s/%s" (trimSuffix "/" $root.Values.webhook.url) $path | quote }}
{{- else -}}
service:
  namespace: {{ $root.Release.Namespace }}
  name: {{ include "strongroom.webhookServiceName" $root }}
  port: 443
  path: {{ printf "/%s" $path | quote }}
{{- end -}}
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

{{/* How the operator reaches its webhook, refusing contradictory values. */}}
{{- define "strongroom.webhookArgs" -}}
{{- if and .Values.webhook.url .Values.webhook.certManager.enabled -}}
{{- fail "webhook.url (development) and webhook.certManager.enabled exclude each other" -}}
{{- else if .Values.webhook.url -}}
- --webhook-url={{ .Values.webhook.url }}
{{- else if .Values.webhook.certManager.enabled -}}
- --webhook-cert-dir={{ include "strongroom.webhookCertDir" . }}
{{- else -}}
- --webhook-service={{ .Release.Namespace }}/{{ include "strongroom.webhookServiceName" . }}:443
{{- end -}}
{{- end }}

{{/* The operator's ServiceAccount as an RBAC subject. */}}
{{- define "strongroom.operatorSubject" -}}
- kind: ServiceAccount
  name: {{ include "strongroom.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}
