{{- define "tracepulse.redisUrl" -}}
{{- if .Values.redis.url -}}
{{ .Values.redis.url }}
{{- else if .Values.redis.enabled -}}
redis://{{ .Release.Name }}-redis:6379
{{- end -}}
{{- end -}}
