"""The reports: what a researcher reads in a terminal and a dashboard scrapes.

One function per report, each taking an open connection (doctor: the settings) and
returning a pydantic model whose `model_dump(mode="json")` is the command's `--json`
(keys in README "Reports"). No printing here. The queries are in agentctl/store/reports.py.

Each command imports its own report's module (`from agentctl.reports import status`):
nothing is re-exported here, so `agentctl status` does not load every report
(the cycle and research reports alone cost a tenth of a command's start).

To add a report: its reads go in store/sql/reports.sql and store/reports.py, its model
and function in a module here, its command in agentctl/cli/.
"""
