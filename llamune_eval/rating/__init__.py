"""People rate stored answers, so the judge can be checked against them: which answers a rater sees (`queue`),
the terminal flow (`terminal`), and ratings in and out of a store as CSV (`transfer`). The agreement itself is
`scoring.agreement`; the rule it feeds is `analysis.judge_check`."""
