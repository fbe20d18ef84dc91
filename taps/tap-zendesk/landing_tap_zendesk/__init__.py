"""tap-zendesk: Zendesk Support on the Meltano Singer SDK (drop-in for the singer-io tap's streams)."""
