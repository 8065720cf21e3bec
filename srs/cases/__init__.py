"""Case files, follow-up tasks, personal plans and complaints."""
