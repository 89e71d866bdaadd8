"""Training analytics: fitness (CTL/ATL/TSB), the season power curve, the FTP estimate, summaries."""
