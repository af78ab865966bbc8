{{- /* The Redis URL the pods use: redis.url, else the chart's own Redis, else none. */ -}}
{{- define "tracepulse.redisUrl" -}}
{{- if .Values.redis.url -}}
{{ .Values.redis.url }}
{{- else if .Values.redis.enabled -}}
redis://{{ .Release.Name }}-redis:6379
{{- end -}}
{{- end -}}

{{- /* Labels on every object; the selector uses only name and instance, which never change. */ -}}
{{- define "tracepulse.labels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: tracepulse
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- /*
The settings ConfigMap's data: values.settings, then the Redis settings the chart derives. It is
also hashed into the pod template, so changing any of it (Redis included) rolls the pods.
*/ -}}
{{- define "tracepulse.settings" -}}
{{- range $k, $v := (.Values.settings | default dict) }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- with include "tracepulse.redisUrl" . }}
REDIS_URL: {{ . | quote }}
TRACEPULSE_REDIS_PREFIX: {{ $.Values.redis.prefix | quote }}
{{- if not (hasKey ($.Values.settings | default dict) "TRACEPULSE_CLUSTER") }}
TRACEPULSE_CLUSTER: "redis"
{{- end }}
{{- end }}
{{- end -}}

{{- /* Values that would give a broken or silently different deployment are refused at render time. */ -}}
{{- define "tracepulse.validate" -}}
{{- $settings := .Values.settings | default dict }}
{{- range $k := list "REDIS_URL" "TRACEPULSE_REDIS_PREFIX" }}
{{- if hasKey $settings $k }}
{{- fail (printf "settings.%s: set redis.url / redis.prefix instead (the chart writes %s itself)" $k $k) }}
{{- end }}
{{- end }}
{{- range $k := list "TRACEPULSE_HOST" "TRACEPULSE_PORT" "TRACEPULSE_DATA_DIR" "TRACEPULSE_SYSTEM_MAP" "TRACEPULSE_INSTANCE_ID" }}
{{- if hasKey $settings $k }}
{{- fail (printf "settings.%s: the pod sets it in env, which would override this value" $k) }}
{{- end }}
{{- end }}
{{- if gt (int .Values.replicas) 1 }}
{{- if not (include "tracepulse.redisUrl" .) }}
{{- fail "replicas > 1 needs redis.enabled or redis.url (docs/cluster.md)" }}
{{- end }}
{{- if eq (toString (index $settings "TRACEPULSE_CLUSTER" | default "redis")) "off" }}
{{- fail "replicas > 1 needs cluster mode: settings.TRACEPULSE_CLUSTER is off (docs/cluster.md)" }}
{{- end }}
{{- end }}
{{- end -}}
