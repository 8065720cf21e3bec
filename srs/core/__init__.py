"""What every feature uses: audit, access scoping, errors, pagination, commits, queues, i18n."""
