{{/* Labels every waypoint object carries (app.kubernetes.io/instance is the Gateway name). */}}
{{- define "ambient-waypoint.labels" -}}
app.kubernetes.io/name: ambient-waypoint
app.kubernetes.io/instance: {{ .Values.name }}
{{- end -}}

{{/* The image reference: repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "ambient-waypoint.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
