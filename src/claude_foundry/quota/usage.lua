-- What the pool holds in its window now: {requests, input, output}.
return {totals[1], totals[2], totals[3]}
