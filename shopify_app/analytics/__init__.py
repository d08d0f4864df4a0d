"""Retention analytics: rollups kept in step with orders, KPI read models and their snapshots."""
